//! The contract with the Studio flow (`infra/twilio/escalation-flow.json`), in one place:
//! the parameters each execution is started with (the flow reads them as `flow.data`), and
//! how a finished execution's context is read back.

use escalation_core::model::{CallOutcome, EscalationId, SysId};
use escalation_core::ports::{CallParams, CallRequest};
use escalation_core::spoken::spoken;
use serde_json::{Value, json};

/// The widget that places the call.
pub const CALL_WIDGET: &str = "call_agent";
/// The widget that gathers the key press.
pub const GATHER_WIDGET: &str = "gather_digit";
/// The flow reads at most this much of the incident's short description aloud.
pub const MAX_SPOKEN_DESCRIPTION: usize = 300;
/// Names and numbers read aloud are cut to this length.
const MAX_SPOKEN_NAME: usize = 80;

/// The execution's `Parameters`. Every text the flow reads aloud is plain words
/// ([`spoken`]): an incident typed as `R&D <b>VPN</b>` cannot break the call's speech markup.
pub fn parameters(call: &CallRequest) -> Value {
    json!({
        "escalation_id": call.escalation_id,
        "sys_id": call.incident.sys_id,
        "incident_number": spoken(&call.incident.number, MAX_SPOKEN_NAME),
        "short_description": spoken(&call.incident.short_description, MAX_SPOKEN_DESCRIPTION),
        "priority": call.incident.priority,
        "attempt": call.attempt,
        "agent_name": spoken(&call.person.name, MAX_SPOKEN_NAME),
        "ring_timeout": call.ring_timeout_secs,
    })
}

/// The `context` of an execution.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionContext(pub Value);

impl ExecutionContext {
    fn widget(&self, name: &str) -> Option<&Value> {
        self.0.get("widgets")?.get(name)
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
        })
    }

    /// How the call ended. Digits first (a pressed key is the strongest signal), then
    /// answering-machine detection, then the call status.
    pub fn outcome(&self) -> CallOutcome {
        let digits = self
            .widget(GATHER_WIDGET)
            .and_then(|g| g.get("Digits"))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|d| !d.is_empty());
        if let Some(d) = digits {
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
    use serde_json::json;

    fn ctx(widgets: Value) -> ExecutionContext {
        ExecutionContext(json!({
            "flow": {"data": {"escalation_id": "e1", "sys_id": "ef43c6d40a0a0b5700c77f9bf387afe3", "attempt": 2}},
            "widgets": widgets
        }))
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
                json!({"call_agent": human, "gather_digit": {"Digits": "3"}}),
                CallOutcome::Escalated,
            ),
            (
                json!({"call_agent": human, "gather_digit": {"Digits": "9"}}),
                CallOutcome::InvalidKey("9".into()),
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
