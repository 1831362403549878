//! The structural checks the fake applies to a Studio flow definition (create, update and
//! `Flows/Validate`), and what an execution of the configured flow takes from its definition.

use std::collections::HashSet;

use serde_json::Value;

/// Widget types of the Studio widget library that the fake accepts.
pub const WIDGET_TYPES: &[&str] = &[
    "trigger",
    "add-twiml-redirect",
    "capture-payments",
    "connect-call-to",
    "connect-virtual-agent",
    "enqueue-call",
    "fork-stream",
    "gather-input-on-call",
    "make-http-request",
    "make-outgoing-call-v2",
    "record-call",
    "record-voicemail",
    "run-function",
    "run-subflow",
    "say-play",
    "send-and-wait-for-reply",
    "send-message",
    "send-to-flex",
    "set-variables",
    "split-based-on",
];

/// Structural problems of a flow definition, as `(property_path, message)` pairs (empty when
/// the fake finds none). Paths use Twilio's JSON-pointer style: `#/states/3/transitions/0/next`.
pub fn definition_errors(definition: &Value) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    let mut err = |path: String, message: String| errors.push((path, message));
    let Some(def) = definition.as_object() else {
        err(
            "#".into(),
            "The flow definition must be a JSON object".into(),
        );
        return errors;
    };
    let initial = match def.get("initial_state") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.as_str()),
        Some(_) => {
            err(
                "#/initial_state".into(),
                "initial_state must be a non-empty string".into(),
            );
            None
        }
        None => {
            err(
                "#".into(),
                "Missing required property: initial_state".into(),
            );
            None
        }
    };
    if let Some(flags) = def.get("flags")
        && !flags
            .get("allow_concurrent_calls")
            .is_some_and(Value::is_boolean)
    {
        err(
            "#/flags".into(),
            "flags.allow_concurrent_calls must be a boolean".into(),
        );
    }
    let states = match def.get("states") {
        Some(Value::Array(a)) if !a.is_empty() && a.len() <= 1000 => a,
        Some(_) => {
            err(
                "#/states".into(),
                "states must be an array of 1 to 1000 states".into(),
            );
            return errors;
        }
        None => {
            err("#".into(), "Missing required property: states".into());
            return errors;
        }
    };

    let mut names = HashSet::new();
    for (i, state) in states.iter().enumerate() {
        match state.get("name").and_then(Value::as_str) {
            Some(n) if !n.is_empty() => {
                if !names.insert(n) {
                    err(
                        format!("#/states/{i}/name"),
                        format!("Duplicate state name '{n}'"),
                    );
                }
            }
            _ => err(
                format!("#/states/{i}"),
                "Missing required property: name".into(),
            ),
        }
    }
    let mut triggers = 0;
    for (i, state) in states.iter().enumerate() {
        match state.get("type").and_then(Value::as_str) {
            Some("trigger") => triggers += 1,
            Some(t) if WIDGET_TYPES.contains(&t) => {}
            Some(t) => err(
                format!("#/states/{i}/type"),
                format!("Unknown widget type '{t}'"),
            ),
            None => err(
                format!("#/states/{i}"),
                "Missing required property: type".into(),
            ),
        }
        match state.get("transitions") {
            Some(Value::Array(transitions)) => {
                for (j, t) in transitions.iter().enumerate() {
                    if !t.get("event").is_some_and(Value::is_string) {
                        err(
                            format!("#/states/{i}/transitions/{j}"),
                            "Missing required property: event".into(),
                        );
                    }
                    match t.get("next") {
                        None | Some(Value::Null) => {}
                        Some(Value::String(next)) if names.contains(next.as_str()) => {}
                        Some(next) => err(
                            format!("#/states/{i}/transitions/{j}/next"),
                            format!("Transition to an unknown state {next}"),
                        ),
                    }
                }
            }
            _ => err(
                format!("#/states/{i}"),
                "Missing required property: transitions (an array)".into(),
            ),
        }
        if state.get("properties").is_some_and(|p| !p.is_object()) {
            err(
                format!("#/states/{i}/properties"),
                "properties must be an object".into(),
            );
        }
    }
    if triggers != 1 {
        err(
            "#/states".into(),
            format!("A flow needs exactly one state of type 'trigger' (found {triggers})"),
        );
    }
    if let Some(initial) = initial
        && !names.contains(initial)
    {
        err(
            "#/initial_state".into(),
            format!("initial_state '{initial}' is not the name of a state"),
        );
    }
    errors
}
