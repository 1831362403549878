//! Named demo scenarios (`scripts/scenarios/*.json`): incidents to raise and how each
//! simulated agent behaves.

use escalation_core::escalation::Escalation;
use escalation_fakes::twilio::AgentStep;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub description: String,
    /// `ACCEPTED`, `EXHAUSTED`, `CANCELLED` (handled in ServiceNow), or `TERMINAL` (every
    /// incident ends, whichever way).
    pub expect: String,
    /// Who accepts every incident, when the scenario promises it.
    #[serde(default)]
    pub accepted_by: Option<String>,
    /// How many calls the scenario places in all, when it promises that.
    #[serde(default)]
    pub calls_placed: Option<usize>,
    pub incidents: Vec<ScenarioIncident>,
    /// People who phone the escalation line (voice-inbound) and report an incident, which
    /// then escalates like any other.
    #[serde(default)]
    pub calls: Vec<InboundCall>,
    /// Phone number (E.164) → the agent's behaviour on successive calls.
    pub agents: BTreeMap<String, Vec<AgentStep>>,
    /// Phone number (E.164) → the roster `language` of that person (`"de-DE"`). A promise
    /// too: every call to them must speak it, every prompt they hear in it.
    #[serde(default)]
    pub languages: BTreeMap<String, String>,
    /// The escalation policies the stack calls from (its policy file), instead of the test
    /// roster. A string `"now+Ns"` is replaced by the wall-clock time (UTC) N seconds after
    /// the scenario is loaded: a rotation can hand off between two incidents.
    #[serde(default)]
    pub policies: Option<serde_json::Value>,
    /// ServiceNow On-Call Scheduling, asked first when set: the fake instance's rotas and
    /// how its On-Call API misbehaves.
    #[serde(default)]
    pub oncall: Option<OnCallScenario>,
    /// Text every incident's first work note must contain ("ServiceNow On-Call not used").
    #[serde(default)]
    pub started_note_contains: Option<String>,
    /// The accepting agent presses 4 (the functions get `BRIDGE_URL`): the bridge is played
    /// once the escalations end, and one "bridge ended" work note is promised per bridge.
    #[serde(default)]
    pub bridge: Option<BridgePlay>,
    /// Phone number (E.164) → how that person answers an escalation text (a policy step
    /// with `"sms": true` texts them after an unanswered call): the reply goes to
    /// voice-inbound's signed SMS webhook, as Twilio would post it.
    #[serde(default)]
    pub sms_replies: BTreeMap<String, SmsReply>,
    /// The flow reports each key to call-decision at once (the functions get
    /// `DECISION_URL`; played in-process only): a press is applied during the call.
    #[serde(default)]
    pub live_decisions: bool,
    /// How long the Twilio fake takes to answer a request that ends an execution (a
    /// hang-up's round trip): a press made in that moment still reaches the engine.
    #[serde(default)]
    pub hang_up_latency_ms: u64,
    /// People (roster names) whose calls must end hung up because someone else of their
    /// ring-all step accepted first (a promise).
    #[serde(default)]
    pub hung_up: Vec<String>,
    /// Phone number (E.164) → words the last call to that person must have said to them
    /// (a promise).
    #[serde(default)]
    pub heard: BTreeMap<String, String>,
    /// People changing incidents in ServiceNow's UI while the calls go on; when the
    /// instance's cancel rule acts on a change, its signed cancel goes to the trigger.
    #[serde(default)]
    pub servicenow_changes: Vec<UiChange>,
    /// How many ringing or answered calls the scenario promises are hung up.
    #[serde(default)]
    pub calls_hung_up: Option<usize>,
}

/// Someone saves an incident's form in ServiceNow.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiChange {
    /// The incident's number (one of `incidents`).
    pub incident: String,
    /// How long after the incident was raised.
    pub after_ms: u64,
    /// Who saves it (a ServiceNow user_name).
    pub by: String,
    /// The fields saved (`{"assigned_to": "bob.agent"}`: a user_name is turned into that
    /// user's sys_id, as the form's reference field would).
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// The fake instance's On-Call data for a scenario.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnCallScenario {
    /// Group name → its rota's members (ServiceNow user_names), one week each from now.
    #[serde(default)]
    pub rotas: BTreeMap<String, Vec<String>>,
    /// The API answers this late (beyond the trigger's 2 s budget: it times out).
    #[serde(default)]
    pub delay_ms: u64,
}

impl OnCallScenario {
    /// The functions' environment that turns On-Call on, pointed at the fake.
    pub fn env() -> Vec<(&'static str, String)> {
        vec![(
            "SERVICENOW_ONCALL_PATH",
            escalation_fakes::servicenow::oncall::PATH.to_string(),
        )]
    }

    /// Seeds the fake instance's rotas and its faults.
    pub fn apply(&self, sn: &escalation_fakes::ServiceNowHandle) {
        for (group, members) in &self.rotas {
            sn.set_rota(escalation_fakes::servicenow::oncall::Rota {
                group: group.clone(),
                name: format!("{group} on call"),
                members: members
                    .iter()
                    .map(|m| crate::fixture::user_sys_id(m))
                    .collect(),
                start_ms: escalation_adapters::clock::now_ms(),
                shift_ms: 7 * 24 * 3_600_000,
                time_to_next_step_secs: 900,
                ..Default::default()
            });
        }
        if self.delay_ms > 0 {
            sn.inject(escalation_fakes::FaultRule {
                path_contains: Some("/oncall".into()),
                delay_ms: self.delay_ms,
                times: 10_000,
                ..Default::default()
            });
        }
    }
}

/// How a bridge goes: the called person's key, when they join, how long it runs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BridgePlay {
    /// The key the person called in presses (1 joins).
    pub callee_key: String,
    /// Seconds after the bridge starts that they join.
    pub join_after_secs: u32,
    /// Seconds the bridge runs.
    pub secs: u32,
}

/// A reply to an escalation text.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsReply {
    /// What the person texts back ("1" accepts, "2" passes).
    pub body: String,
    /// How long after the text arrived.
    #[serde(default)]
    pub after_ms: u64,
}

/// A call to the escalation line: menu 1 (report), a team, a recorded message, confirm.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboundCall {
    /// The caller's number (E.164); the line admits people on the roster.
    pub from: String,
    /// The team's digit in the line's menu.
    pub team: String,
    /// Length of the recorded message in seconds.
    pub message_secs: u32,
    /// What Twilio's transcription of the message says (a work note on the incident).
    #[serde(default)]
    pub transcript: Option<String>,
}

impl Scenario {
    /// Injects the scenario's Twilio latency into the fake.
    pub fn apply_twilio(&self, twilio: &escalation_fakes::TwilioHandle) {
        // POST …/Executions/FN… (Status=ended) and …/Calls/CA… (Status=completed): updates,
        // not creates.
        for path in ["/Executions/FN", "/Calls/CA"] {
            if self.hang_up_latency_ms > 0 {
                twilio.inject(escalation_fakes::FaultRule {
                    method: Some("POST".into()),
                    path_contains: Some(path.into()),
                    delay_ms: self.hang_up_latency_ms,
                    times: 10_000,
                    ..Default::default()
                });
            }
        }
    }

    /// The first promise about calls that was not kept: someone of `hung_up` whose call
    /// did not end hung up, or words of `heard` that the person's last call did not say.
    pub fn broken_call_promise(
        &self,
        escalations: &[Escalation],
        executions: &[escalation_fakes::twilio::ExecutionRecord],
    ) -> Option<String> {
        use escalation_core::model::CallOutcome;
        for name in &self.hung_up {
            let hung_up = escalations
                .iter()
                .flat_map(|e| e.history())
                .any(|h| &h.name == name && matches!(h.outcome, CallOutcome::HungUp(_)));
            if !hung_up {
                return Some(format!("{name}'s call was not hung up"));
            }
        }
        for (phone, words) in &self.heard {
            let last = executions.iter().rfind(|e| &e.to == phone);
            let said =
                last.is_some_and(|e| e.heard.iter().any(|h| h.text.contains(words.as_str())));
            if !said {
                let masked = escalation_core::model::phone::mask(phone);
                return Some(format!("the last call to {masked} did not say \"{words}\""));
            }
        }
        None
    }

    /// The roster the scenario runs with: the test roster, each person of `languages`
    /// given their language.
    pub fn roster_json(&self) -> String {
        let mut roster: serde_json::Value =
            serde_json::from_str(crate::fixture::TEST_ROSTER).expect("the test roster is JSON");
        for list in ["agent_list", "escalation_list"] {
            for person in roster[list].as_array_mut().into_iter().flatten() {
                let phone = person["phone_no"].as_str().unwrap_or_default().to_owned();
                if let Some(language) = self.languages.get(&phone) {
                    person["language"] = serde_json::Value::String(language.clone());
                }
            }
        }
        roster.to_string()
    }

    /// The policy file for the stack (`"now+Ns"` replaced), if the scenario has policies.
    pub fn policy_file(&self) -> Option<String> {
        fn fill(v: &mut serde_json::Value, now: jiff::Timestamp) {
            match v {
                serde_json::Value::String(s) => {
                    if let Some(secs) = s
                        .strip_prefix("now+")
                        .and_then(|r| r.strip_suffix('s'))
                        .and_then(|n| n.parse::<i64>().ok())
                    {
                        let at = now + jiff::SignedDuration::from_secs(secs);
                        *s = at.to_zoned(jiff::tz::TimeZone::UTC).datetime().to_string();
                    }
                }
                serde_json::Value::Array(a) => a.iter_mut().for_each(|x| fill(x, now)),
                serde_json::Value::Object(o) => o.values_mut().for_each(|x| fill(x, now)),
                _ => {}
            }
        }
        let mut doc = self.policies.clone()?;
        fill(&mut doc, jiff::Timestamp::now());
        Some(doc.to_string())
    }

    /// What the scenario promises, in words: `ACCEPTED by Bob Agent, 2 calls placed`.
    pub fn promise(&self) -> String {
        let mut p = self.expect.clone();
        if let Some(who) = &self.accepted_by {
            p.push_str(&format!(" by {who}"));
        }
        if let Some(n) = self.calls_placed {
            p.push_str(&format!(
                ", {n} call{} placed",
                if n == 1 { "" } else { "s" }
            ));
        }
        if let Some(n) = self.calls_hung_up {
            p.push_str(&format!(", {n} hung up"));
        }
        p
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioIncident {
    pub number: String,
    pub short_description: String,
    pub priority: String,
    /// The assignment group's name, which selects its policy.
    #[serde(default)]
    pub group: Option<String>,
    /// Who accepts this incident, when the scenario promises it (else the scenario's).
    #[serde(default)]
    pub accepted_by: Option<String>,
    /// Wait this long before raising the incident.
    #[serde(default)]
    pub delay_ms: u64,
}

pub fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/scenarios")
}

/// Names of the bundled scenarios.
pub fn names() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(scenarios_dir())
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_suffix(".json"))
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

pub fn load(name: &str) -> Result<Scenario, String> {
    let path = scenarios_dir().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).map_err(|_| {
        format!(
            "unknown scenario {name:?}; choose one of: {}",
            names().join(", ")
        )
    })?;
    parse(&text, &path)
}

/// A scenario from its JSON text, checked (`path` names it in errors).
pub fn parse(text: &str, path: &Path) -> Result<Scenario, String> {
    let s: Scenario = serde_json::from_str(text).map_err(|e| format!("{}: {e}", path.display()))?;
    if !matches!(
        s.expect.as_str(),
        "ACCEPTED" | "EXHAUSTED" | "CANCELLED" | "TERMINAL"
    ) {
        return Err(format!(
            "{}: expect must be ACCEPTED, EXHAUSTED, CANCELLED or TERMINAL",
            path.display()
        ));
    }
    for change in &s.servicenow_changes {
        if !s.incidents.iter().any(|i| i.number == change.incident) {
            return Err(format!(
                "{}: servicenow_changes: {} is not one of the scenario's incidents",
                path.display(),
                change.incident
            ));
        }
    }
    for (phone, language) in &s.languages {
        if escalation_core::prompts::find(language).is_none() {
            return Err(format!(
                "{}: languages: {phone}: no call prompts for {language:?} (there are: {})",
                path.display(),
                escalation_core::prompts::LOCALES
                    .iter()
                    .map(|l| l.tag)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !s.roster_json().contains(&format!("\"{phone}\"")) {
            return Err(format!(
                "{}: languages: {phone} is not on the test roster",
                path.display()
            ));
        }
    }
    for call in &s.calls {
        escalation_core::model::E164::parse(&call.from)
            .map_err(|e| format!("{}: calls: from: {e}", path.display()))?;
        if !(call.team.len() == 1 && call.team.bytes().all(|b| (b'1'..=b'9').contains(&b))) {
            return Err(format!(
                "{}: calls: team {:?} must be one digit 1-9",
                path.display(),
                call.team
            ));
        }
    }
    for phone in s.sms_replies.keys() {
        escalation_core::model::E164::parse(phone)
            .map_err(|e| format!("{}: sms_replies: {e}", path.display()))?;
    }
    for phone in s.agents.keys() {
        escalation_core::model::E164::parse(phone)
            .map_err(|e| format!("{}: agents: {e}", path.display()))?;
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_reach_the_roster_and_unknown_ones_are_refused() {
        let sc = load("language").expect("the language scenario loads");
        let roster = escalation_core::model::Roster::from_json(&sc.roster_json()).expect("roster");
        let bob = roster
            .agents
            .iter()
            .find(|p| p.name == "Bob Agent")
            .expect("Bob");
        assert_eq!(bob.language.as_deref(), Some("de-DE"));
        assert_eq!(roster.agents[0].language, None);

        let path = scenarios_dir().join("language.json");
        let text = std::fs::read_to_string(&path).expect("read");
        let err = parse(&text.replace("\"de-DE\"", "\"xx-XX\""), &path).expect_err("refused");
        assert!(
            err.contains("no call prompts for \"xx-XX\" (there are: en-US, en-GB, de-DE)"),
            "{err}"
        );
        let err = parse(
            &text.replace("\"+15550100002\": \"de", "\"+15550100009\": \"de"),
            &path,
        )
        .expect_err("refused");
        assert!(
            err.contains("+15550100009 is not on the test roster"),
            "{err}"
        );
    }
}
