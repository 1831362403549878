//! The Studio flow file: loading, the contract with the Lambdas, and a fingerprint that
//! recognises a flow this tool published even if Twilio re-renders its JSON.

use std::path::{Path, PathBuf};

use escalation_adapters::twilio::contract;
use serde_json::Value;

/// Outgoing-call widget the Lambdas read `AnsweredBy`/`CallStatus` from
/// (`escalation_adapters::twilio::contract::CALL_WIDGET`).
pub const CALL_WIDGET: &str = "call_agent";
/// Gather widget the Lambdas read `Digits` from (`escalation_adapters::twilio::contract::GATHER_WIDGET`).
pub const GATHER_WIDGET: &str = "gather_digit";

/// A problem with the flow file, before Twilio is asked anything.
#[derive(Debug, thiserror::Error)]
pub enum FlowFileError {
    #[error("cannot read the flow file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the flow file {path} is not valid JSON: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "the flow file {path} breaks the contract with the Lambdas:\n  {}",
        .problems.join("\n  ")
    )]
    Contract {
        path: PathBuf,
        problems: Vec<String>,
    },
}

/// Reads and parses a flow definition, then checks [`contract_problems`].
pub fn load(path: &Path) -> Result<Value, FlowFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| FlowFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    let definition: Value = serde_json::from_str(&text).map_err(|source| FlowFileError::Json {
        path: path.to_owned(),
        source,
    })?;
    let problems = contract_problems(&definition);
    if problems.is_empty() {
        Ok(definition)
    } else {
        Err(FlowFileError::Contract {
            path: path.to_owned(),
            problems,
        })
    }
}

fn state<'a>(definition: &'a Value, name: &str) -> Option<&'a Value> {
    definition
        .get("states")?
        .as_array()?
        .iter()
        .find(|s| s.get("name").and_then(Value::as_str) == Some(name))
}

/// Where `state`'s transition on `event` leads (`None`: it ends the execution).
fn transition_next<'a>(state: &'a Value, event: &str) -> Option<&'a str> {
    state
        .get("transitions")?
        .as_array()?
        .iter()
        .find(|t| t.get("event").and_then(Value::as_str) == Some(event))?
        .get("next")?
        .as_str()
}

/// What the Lambdas rely on (docs/ARCHITECTURE.md): a `make-outgoing-call-v2` widget named
/// `call_agent` with answering-machine detection switched on, a `gather-input-on-call` widget
/// named `gather_digit` that takes one digit and goes on after a key press or speech, only
/// `flow.data` parameters the Lambdas send, every spoken widget in the person's language
/// and voice (`{{flow.data.language}}`, `{{flow.data.voice}}`), and no widget that calls out
/// (`run-function`, `make-http-request`): the outcome is read from the execution context
/// after the flow ends.
/// Twilio's Validate checks the rest of the structure.
pub fn contract_problems(definition: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let widget_type = |s: &Value| -> String {
        s.get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let prop = |s: &Value, key: &str| -> Value {
        s.pointer(&format!("/properties/{key}"))
            .cloned()
            .unwrap_or(Value::Null)
    };
    match state(definition, CALL_WIDGET) {
        None => problems.push(format!(
            "no state named {CALL_WIDGET} (the outgoing call whose AnsweredBy/CallStatus the Lambdas read)"
        )),
        Some(s) => {
            if widget_type(s) != "make-outgoing-call-v2" {
                problems.push(format!(
                    "{CALL_WIDGET} must be of type make-outgoing-call-v2, not {:?}",
                    widget_type(s)
                ));
            }
            let amd = prop(s, "machine_detection");
            if !matches!(amd.as_str(), Some("Enable" | "DetectMessageEnd")) {
                problems.push(format!(
                    "{CALL_WIDGET} must have machine_detection \"Enable\" (voicemail must not accept an incident), found {amd}"
                ));
            }
            // machine_detection only picks the mode; this switch turns detection on.
            if prop(s, "detect_answering_machine") != Value::Bool(true) {
                problems.push(format!(
                    "{CALL_WIDGET} must set detect_answering_machine to true: without it Twilio reports no AnsweredBy and a voicemail is read the incident and scored as no key press"
                ));
            }
        }
    }
    match state(definition, GATHER_WIDGET) {
        None => problems.push(format!(
            "no state named {GATHER_WIDGET} (the key press the Lambdas read as Digits)"
        )),
        Some(s) => {
            if widget_type(s) != "gather-input-on-call" {
                problems.push(format!(
                    "{GATHER_WIDGET} must be of type gather-input-on-call, not {:?}",
                    widget_type(s)
                ));
            }
            if prop(s, "number_of_digits") != 1 {
                problems.push(format!(
                    "{GATHER_WIDGET} must take exactly one digit (number_of_digits: 1)"
                ));
            }
            for event in ["keypress", "speech"] {
                if transition_next(s, event).is_none() {
                    problems.push(format!(
                        "{GATHER_WIDGET}'s {event} transition goes nowhere: an agent who {} is hung up on",
                        if event == "speech" { "speaks instead of pressing a key" } else { "presses a key" }
                    ));
                }
            }
        }
    }
    if let Some(states) = definition.get("states").and_then(Value::as_array) {
        for s in states {
            let name = s.get("name").and_then(Value::as_str).unwrap_or("?");
            for key in data_references(s) {
                if !contract::PARAMETERS.contains(&key.as_str()) {
                    problems.push(format!(
                        "state {name} reads flow.data.{key}, which the Lambdas do not send (they send {})",
                        contract::PARAMETERS.join(", ")
                    ));
                }
            }
            let speaks = matches!(widget_type(s).as_str(), "say-play" | "gather-input-on-call");
            for (key, param) in [("language", "language"), ("voice", "voice")] {
                let want = format!("{{{{flow.data.{param}}}}}");
                if speaks && prop(s, key).as_str() != Some(want.as_str()) {
                    problems.push(format!(
                        "state {name} must speak with {key} {want}: each person hears the call in their own language"
                    ));
                }
            }
            let t = widget_type(s);
            if t == "add-twiml-redirect" {
                if prop(s, "url").as_str() != Some("{{flow.data.bridge_url}}") {
                    problems.push(format!(
                        "state {name} must hand the call to {{{{flow.data.bridge_url}}}}: the bridge's URL carries a capability written for each call"
                    ));
                }
                if prop(s, "timeout").as_str() != Some("0") {
                    problems.push(format!(
                        "state {name} must set timeout \"0\": otherwise the execution waits for the call to come back and the accept is read only when the bridge ends"
                    ));
                }
            }
            if t == "run-function" || t == "make-http-request" {
                problems.push(format!(
                    "state {} is a {t} widget: the flow must not call out; the Lambdas read the outcome from the execution context",
                    s.get("name").and_then(Value::as_str).unwrap_or("?")
                ));
            }
        }
    }
    problems
}

/// Every `flow.data.<key>` a state's properties read through Liquid.
fn data_references(state: &Value) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => {
                for (i, _) in s.match_indices("flow.data.") {
                    let key: String = s[i + "flow.data.".len()..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !key.is_empty() && !out.contains(&key) {
                        out.push(key);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Object(map) => map.values().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(props) = state.get("properties") {
        walk(props, &mut out);
    }
    for t in state
        .get("transitions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        walk(t, &mut out);
    }
    out
}

/// JSON with object keys sorted at every level: the same definition always gives the same
/// text, whatever the key order in the file.
pub fn canonical(value: &Value) -> String {
    fn write(v: &Value, out: &mut String) {
        match v {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String((*k).clone()).to_string());
                    out.push(':');
                    write(&map[*k], out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// 16 hex digits (FNV-1a, 64 bit) of the canonical definition: a change detector for the
/// commit message, not a security measure.
pub fn fingerprint(definition: &Value) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in canonical(definition).bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// The tag this tool puts in the commit message of every revision it publishes.
pub fn commit_tag(definition: &Value) -> String {
    format!("[escalation-admin {}]", fingerprint(definition))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_ignores_key_order() {
        let a: Value = serde_json::from_str(r#"{"b":1,"a":{"y":[1,{"q":2,"p":"x"}],"x":null}}"#)
            .expect("json");
        let b: Value = serde_json::from_str(r#"{"a":{"x":null,"y":[1,{"p":"x","q":2}]},"b":1}"#)
            .expect("json");
        assert_eq!(canonical(&a), canonical(&b));
        assert_eq!(
            canonical(&a),
            r#"{"a":{"x":null,"y":[1,{"p":"x","q":2}]},"b":1}"#
        );
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&json!({"b": 2})));
        assert_eq!(fingerprint(&a).len(), 16);
    }

    #[test]
    fn contract_names_what_is_missing() {
        let def = json!({"states": [
            {"name": "call_agent", "type": "make-outgoing-call-v2", "properties": {}},
            {"name": "fn", "type": "run-function", "properties": {}},
        ]});
        let problems = contract_problems(&def);
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].contains("machine_detection"));
        assert!(problems[1].contains("detect_answering_machine"));
        assert!(problems[2].contains("gather_digit"));
        assert!(problems[3].contains("run-function"));
    }

    #[test]
    fn unknown_parameters_and_a_fixed_language_are_refused() {
        let def = json!({"states": [
            {"name": "say_x", "type": "say-play",
             "properties": {"say": "{{flow.data.say_accepted}} {{flow.data.caller_name}}",
                            "language": "en-US", "voice": "{{flow.data.voice}}"}},
        ]});
        let problems: Vec<String> = contract_problems(&def)
            .into_iter()
            .filter(|p| p.contains("say_x"))
            .collect();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("reads flow.data.caller_name, which the Lambdas do not send"));
        assert!(problems[1].contains("language {{flow.data.language}}"));
    }

    #[test]
    fn the_mode_without_the_switch_and_a_speech_dead_end_are_refused() {
        let def = json!({"states": [
            {"name": "call_agent", "type": "make-outgoing-call-v2",
             "properties": {"machine_detection": "Enable", "detect_answering_machine": false}},
            {"name": "gather_digit", "type": "gather-input-on-call",
             "properties": {"number_of_digits": 1, "language": "{{flow.data.language}}",
                            "voice": "{{flow.data.voice}}"},
             "transitions": [{"event": "keypress", "next": "route"}, {"event": "speech"},
                             {"event": "timeout"}]},
        ]});
        let problems = contract_problems(&def);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("detect_answering_machine to true"));
        assert!(problems[1].contains("speech transition goes nowhere"));
    }
}
