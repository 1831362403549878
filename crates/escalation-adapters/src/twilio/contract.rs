//! The contract with the Studio flow (`infra/twilio/escalation-flow.json`), in one place:
//! the parameters each execution is started with (the flow reads them as `flow.data`), and
//! how a finished execution's context is read back.

use super::bundle_params;
use crate::capability::DecisionKey;
use escalation_core::model::{CallOutcome, EscalationId, SysId};
use escalation_core::ports::{CallParams, CallRequest};
use escalation_core::prompts::{self, CallScript};
use escalation_core::spoken::spoken;
use serde_json::{Value, json};

/// The widget that places the call.
pub const CALL_WIDGET: &str = "call_agent";
/// The widget that gathers the key press.
pub const GATHER_WIDGET: &str = "gather_digit";
/// The widget that asks, after a 2, why the person passes (1 driving, 2 no laptop, 3 not
/// my area).
pub const REASON_WIDGET: &str = "gather_reason";
/// The widget that reports the key pressed at once (a `make-http-request`).
pub const DECISION_WIDGET: &str = "report_decision";
/// The flow reads at most this much of the incident's short description aloud.
pub const MAX_SPOKEN_DESCRIPTION: usize = prompts::FULL_DESCRIPTION_CHARS;
/// Names and numbers read aloud are cut to this length.
const MAX_SPOKEN_NAME: usize = 80;
/// Keys that move around the call (`*` hear everything again, `9` the full description):
/// the last key pressed being one of them means no choice was made.
pub const NAVIGATION_KEYS: [&str; 2] = ["*", "9"];

/// The names of the execution's `Parameters` (the flow reads them as `flow.data.<name>`).
pub const PARAMETERS: &[&str] = &[
    "escalation_id",
    "sys_id",
    "incident_number",
    "short_description",
    "priority",
    "attempt",
    "agent_name",
    "ring_timeout",
    "language",
    "voice",
    "say_details",
    "say_menu",
    "say_full",
    "say_accepted",
    "say_passed",
    "say_reason",
    "say_escalated",
    "say_invalid",
    "say_use_keypad",
    "say_bridge_offer",
    "bridge_url",
    "bundle",
];

/// The route of voice-inbound the flow's `open_bridge` widget hands the call to after a 4.
pub const BRIDGE_OPEN_PATH: &str = "/bridge/open";

/// The execution's `Parameters`: the escalation's identifiers, the incident, and every
/// prompt of the call in the person's language (`language`, `voice`, `say_*`, from
/// [`prompts`]), so one flow speaks every language. Every text the flow reads aloud is
/// plain words ([`spoken`]): an incident typed as `R&D <b>VPN</b>` cannot break the call's
/// speech markup.
pub fn parameters(call: &CallRequest) -> Value {
    let locale = prompts::locale(call.person.language.as_deref());
    let script = if call.bundle.is_empty() {
        CallScript::new(locale, &call.incident)
    } else {
        let incidents: Vec<_> = std::iter::once(&call.incident)
            .chain(call.bundle.iter().map(|b| &b.incident))
            .collect();
        CallScript::bundle(locale, &incidents)
    };
    let mut params = json!({
        "escalation_id": call.escalation_id,
        "sys_id": call.incident.sys_id,
        "incident_number": spoken(&call.incident.number, MAX_SPOKEN_NAME),
        "short_description": spoken(&call.incident.short_description, MAX_SPOKEN_DESCRIPTION),
        "priority": call.incident.priority,
        "attempt": call.attempt,
        "agent_name": spoken(&call.person.name, MAX_SPOKEN_NAME),
        "ring_timeout": call.ring_timeout_secs,
        "language": script.language,
        "voice": script.voice,
        // Empty: no bridge is offered (the flow skips the offer); see `with_bridge_url`.
        "bridge_url": "",
        // The other incidents of a bundle call ("" for an ordinary call).
        "bundle": bundle_params::encode(&call.bundle),
    });
    if let Value::Object(map) = &mut params {
        for (key, text) in script.prompts() {
            map.insert(key.to_owned(), Value::String(text.to_owned()));
        }
    }
    params
}

/// `params` with the bridge's URL filled in (the flow then offers key 4 after an accept).
pub fn with_bridge_url(mut params: Value, url: String) -> Value {
    if let Value::Object(map) = &mut params {
        map.insert("bridge_url".to_owned(), Value::String(url));
    }
    params
}

/// Where the flow sends a key pressed during the call, and the key of the tokens that
/// authorise it ([`crate::capability`]).
#[derive(Clone, Debug)]
pub struct DecisionLink {
    /// The decision endpoint's URL (its function URL).
    pub url: String,
    pub key: DecisionKey,
}

/// The parameters that let the flow report a key at once: `decision_url` and
/// `decision_token` (the attempt's capability). Without them the flow skips the request
/// and the key is read from the execution's context when the call has ended.
pub const DECISION_PARAMETERS: [&str; 2] = ["decision_url", "decision_token"];

/// Add the decision parameters for `call` to `params` (from [`parameters`]).
pub fn add_decision(params: &mut Value, call: &CallRequest, link: &DecisionLink) {
    if let Value::Object(map) = params {
        let token = link.key.token(
            call.escalation_id.as_str(),
            call.incident.sys_id.as_str(),
            call.attempt,
        );
        map.insert("decision_url".into(), Value::String(link.url.clone()));
        map.insert("decision_token".into(), Value::String(token));
    }
}

/// The `context` of an execution.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionContext(pub Value);

impl ExecutionContext {
    fn widget(&self, name: &str) -> Option<&Value> {
        self.0.get("widgets")?.get(name)
    }

    /// The Call SID of the execution's call, once a widget that ran on it says so: the
    /// call widget after it was answered (or ended), or any widget that ran on the call
    /// (a gather, a say). `None` while the call widget is still ringing.
    pub fn call_sid(&self) -> Option<String> {
        let sid = |w: &Value| {
            w.get("CallSid")
                .and_then(Value::as_str)
                .filter(|s| s.starts_with("CA"))
                .map(str::to_owned)
        };
        self.widget(CALL_WIDGET)
            .and_then(sid)
            .or_else(|| self.0.get("widgets")?.as_object()?.values().find_map(sid))
    }

    /// Our parameters; `None` if the execution was not started by us (e.g. a console test).
    pub fn params(&self) -> Option<CallParams> {
        let data = self.0.get("flow")?.get("data")?;
        let text = |k: &str| data.get(k).and_then(Value::as_str);
        let attempt = match data.get("attempt")? {
            Value::Number(n) => n.as_u64()?,
            Value::String(s) => s.parse().ok()?,
            _ => return None,
        };
        Some(CallParams {
            escalation_id: EscalationId::new(text("escalation_id")?),
            sys_id: SysId::parse(text("sys_id")?).ok()?,
            attempt: u32::try_from(attempt).ok()?,
            bundle: text("bundle")
                .map(bundle_params::decode)
                .unwrap_or_default(),
        })
    }

    /// How the call ended. Digits first (a pressed key is the strongest signal; a call
    /// whose last key was `*` or `9` made no choice), then answering-machine detection,
    /// then the call status.
    pub fn outcome(&self) -> CallOutcome {
        let digits = self
            .widget(GATHER_WIDGET)
            .and_then(|g| g.get("Digits"))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|d| !d.is_empty());
        if let Some(d) = digits.filter(|d| !NAVIGATION_KEYS.contains(d)) {
            if d == "2" {
                let reason = self
                    .widget(REASON_WIDGET)
                    .and_then(|g| g.get("Digits"))
                    .and_then(Value::as_str);
                return CallOutcome::passed_because(reason);
            }
            return CallOutcome::from_digits(d);
        }
        let Some(call) = self.widget(CALL_WIDGET) else {
            return CallOutcome::Failed;
        };
        let answered_by = call.get("AnsweredBy").and_then(Value::as_str).unwrap_or("");
        if answered_by.starts_with("machine") || answered_by == "fax" {
            return CallOutcome::Machine;
        }
        match call.get("CallStatus").and_then(Value::as_str).unwrap_or("") {
            "busy" => CallOutcome::Busy,
            "no-answer" => CallOutcome::NoAnswer,
            "completed" | "in-progress" | "answered" => CallOutcome::NoKeypress,
            _ => CallOutcome::Failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use escalation_core::model::DeclineReason;
    use serde_json::json;

    fn ctx(widgets: Value) -> ExecutionContext {
        ExecutionContext(json!({
            "flow": {"data": {"escalation_id": "e1", "sys_id": "ef43c6d40a0a0b5700c77f9bf387afe3", "attempt": 2}},
            "widgets": widgets
        }))
    }

    #[test]
    fn the_call_is_named_once_a_widget_ran_on_it() {
        let ctx = |widgets: serde_json::Value| ExecutionContext(json!({"widgets": widgets}));
        assert_eq!(
            ctx(json!({})).call_sid(),
            None,
            "ringing: no widget ran yet"
        );
        let call = "CA0123456789abcdef0123456789abcdef";
        assert_eq!(
            ctx(json!({"call_agent": {"CallSid": call, "CallStatus": "in-progress"}})).call_sid(),
            Some(call.to_owned())
        );
        assert_eq!(
            ctx(
                json!({"gather_digit": {"CallSid": call}, "report_decision": {"status_code": 200}})
            )
            .call_sid(),
            Some(call.to_owned()),
            "any widget that ran on the call names it"
        );
        assert_eq!(
            ctx(json!({"call_agent": {"CallSid": "FN1"}})).call_sid(),
            None
        );
    }

    #[test]
    fn outcomes_from_context() {
        let human = json!({"CallStatus": "completed", "AnsweredBy": "human"});
        let cases = [
            (
                json!({"call_agent": human, "gather_digit": {"Digits": "1"}}),
                CallOutcome::Accepted,
            ),
            (
                json!({"call_agent": human, "gather_digit": {"Digits": "2"}}),
                CallOutcome::Passed,
            ),
            (
                json!({"call_agent": human, "gather_digit": {"Digits": "2"}, "gather_reason": {"Digits": "1"}}),
                CallOutcome::Declined(DeclineReason::Driving),
            ),
            (
                json!({"call_agent": human, "gather_digit": {"Digits": "2"}, "gather_reason": {"Digits": "3"}}),
                CallOutcome::Declined(DeclineReason::NotMyArea),
            ),
            (
                json!({"call_agent": human, "gather_digit": {"Digits": "2"}, "gather_reason": {"Digits": "8"}}),
                CallOutcome::Passed,
            ),
            (
                json!({"call_agent": human, "gather_digit": {"Digits": "2"}, "gather_reason": {"CallStatus": "in-progress"}}),
                CallOutcome::Passed,
            ),
            (
                json!({"call_agent": human, "gather_digit": {"Digits": "3"}}),
                CallOutcome::Escalated,
            ),
            (
                json!({"call_agent": human, "gather_digit": {"Digits": "7"}}),
                CallOutcome::InvalidKey("7".into()),
            ),
            (
                json!({"call_agent": human, "gather_digit": {"Digits": "*"}}),
                CallOutcome::NoKeypress,
            ),
            (
                json!({"call_agent": human, "gather_digit": {"Digits": "9"}}),
                CallOutcome::NoKeypress,
            ),
            (
                json!({"call_agent": human, "gather_digit": {"CallStatus": "in-progress"}}),
                CallOutcome::NoKeypress,
            ),
            (
                json!({"call_agent": {"CallStatus": "completed", "AnsweredBy": "machine_start"}}),
                CallOutcome::Machine,
            ),
            (
                json!({"call_agent": {"CallStatus": "completed", "AnsweredBy": "fax"}}),
                CallOutcome::Machine,
            ),
            (
                json!({"call_agent": {"CallStatus": "busy"}}),
                CallOutcome::Busy,
            ),
            (
                json!({"call_agent": {"CallStatus": "no-answer"}}),
                CallOutcome::NoAnswer,
            ),
            (
                json!({"call_agent": {"CallStatus": "failed"}}),
                CallOutcome::Failed,
            ),
            (
                json!({"call_agent": {"CallStatus": "canceled"}}),
                CallOutcome::Failed,
            ),
            (json!({}), CallOutcome::Failed),
        ];
        for (widgets, expect) in cases {
            assert_eq!(ctx(widgets.clone()).outcome(), expect, "{widgets}");
        }
    }

    fn call(language: Option<&str>) -> CallRequest {
        use escalation_core::model::{E164, Incident, Person};
        CallRequest {
            escalation_id: EscalationId::new("e1"),
            incident: Incident {
                sys_id: SysId::parse("ef43c6d40a0a0b5700c77f9bf387afe3").unwrap(),
                number: "INC0010042".into(),
                short_description: "R&D <b>VPN</b> down".into(),
                priority: "2".into(),
                assignment_group: None,
                assignment_group_name: Some("Network".into()),
            },
            attempt: 1,
            person: Person {
                name: "Alice".into(),
                phone: E164::parse("+15550100001").unwrap(),
                role: None,
                sn_user: None,
                language: language.map(str::to_owned),
                ring_timeout_secs: None,
                redials: None,
                escalation_step: false,
                sms_when_unanswered: false,
                ring_step: None,
            },
            ring_timeout_secs: 30,
            attempt_started_at: 0,
            bundle: Vec::new(),
        }
    }

    #[test]
    fn parameters_carry_the_prompts_in_the_persons_language() {
        let de = parameters(&call(Some("de-DE")));
        assert_eq!(de["language"], "de-DE");
        assert_eq!(de["voice"], "Polly.Marlene");
        assert_eq!(
            de["say_details"],
            "Dies ist ein dringender Alarm für den Incident I N C, 0 0 1 0 0 4 2. \
             Priorität 2, hoch. Zuständige Gruppe: Network. R and D VPN down."
        );
        assert_eq!(
            de["say_accepted"],
            "Sie haben den Incident I N C, 0 0 1 0 0 4 2 angenommen. Vielen Dank."
        );
        let en = parameters(&call(None));
        assert_eq!(en["language"], "en-US");
        assert!(
            en["say_menu"]
                .as_str()
                .unwrap()
                .contains("Press star to hear everything again")
        );
        let mut names: Vec<&str> = en.as_object().unwrap().keys().map(String::as_str).collect();
        let mut listed = PARAMETERS.to_vec();
        names.sort_unstable();
        listed.sort_unstable();
        assert_eq!(names, listed, "PARAMETERS names every parameter sent");
        for key in PARAMETERS.iter().filter(|k| k.starts_with("say_")) {
            assert!(en[*key].as_str().is_some_and(|t| !t.is_empty()), "{key}");
        }
        assert_eq!(en["short_description"], "R and D VPN down");
    }

    #[test]
    fn params_accept_number_or_string_attempt() {
        assert_eq!(ctx(json!({})).params().unwrap().attempt, 2);
        let c = ExecutionContext(
            json!({"flow": {"data": {"escalation_id": "e", "sys_id": "ef43c6d40a0a0b5700c77f9bf387afe3", "attempt": "7"}}}),
        );
        assert_eq!(c.params().unwrap().attempt, 7);
        assert_eq!(
            ExecutionContext(json!({"flow": {"data": {}}})).params(),
            None
        );
        assert_eq!(ExecutionContext(json!({})).params(), None);
    }
}
