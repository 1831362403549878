//! infra/twilio/escalation-flow.json does what the product promises: a REST-triggered
//! execution calls the agent with answering-machine detection, reads the incident out and
//! gathers one digit, confirms the choice, and ends. No widget calls out.

use std::path::PathBuf;

use serde_json::Value;

fn shipped() -> Value {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/twilio/escalation-flow.json");
    escalation_admin::flow::load(&path).expect("the shipped flow loads and keeps the contract")
}

fn state<'a>(flow: &'a Value, name: &str) -> &'a Value {
    flow["states"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == name))
        .unwrap_or_else(|| panic!("no state {name}"))
}

fn next<'a>(s: &'a Value, event: &str) -> Option<&'a str> {
    s["transitions"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["event"] == event))
        .and_then(|t| t["next"].as_str())
}

#[test]
fn widget_names_are_the_ones_the_lambdas_read() {
    assert_eq!(
        escalation_admin::flow::CALL_WIDGET,
        escalation_adapters::twilio::contract::CALL_WIDGET
    );
    assert_eq!(
        escalation_admin::flow::GATHER_WIDGET,
        escalation_adapters::twilio::contract::GATHER_WIDGET
    );
}

#[test]
fn rest_trigger_call_with_amd_gather_one_digit_confirm_end() {
    let flow = shipped();
    let trigger = state(
        &flow,
        flow["initial_state"].as_str().expect("initial_state"),
    );
    assert_eq!(trigger["type"], "trigger");
    // Only the REST API starts it.
    for event in [
        "incomingMessage",
        "incomingCall",
        "incomingConversationMessage",
    ] {
        assert_eq!(next(trigger, event), None, "{event} must not start a call");
    }
    assert_eq!(next(trigger, "incomingRequest"), Some("call_agent"));

    let call = state(&flow, "call_agent");
    assert_eq!(call["type"], "make-outgoing-call-v2");
    assert_eq!(call["properties"]["to"], "{{contact.channel.address}}");
    assert_eq!(call["properties"]["from"], "{{flow.channel.address}}");
    assert_eq!(call["properties"]["machine_detection"], "Enable");
    // The switch, not the mode, turns detection on (without it there is no AnsweredBy).
    assert_eq!(call["properties"]["detect_answering_machine"], true);
    // Equal to the template's RingTimeoutSeconds default (RING_TIMEOUT_SECS).
    assert_eq!(call["properties"]["timeout"], 30);
    for event in ["busy", "noAnswer", "failed"] {
        assert_eq!(next(call, event), None, "{event} ends the execution");
    }

    // A machine hangs up; a human hears the incident.
    let answered = state(&flow, next(call, "answered").expect("answered"));
    assert_eq!(answered["type"], "split-based-on");
    assert_eq!(next(answered, "noMatch"), Some("gather_digit"));
    let matches: Vec<&Value> = answered["transitions"]
        .as_array()
        .expect("transitions")
        .iter()
        .filter(|t| t["event"] == "match")
        .collect();
    assert!(!matches.is_empty());
    for m in matches {
        assert!(m["next"].is_null(), "a machine must not reach the gather");
        assert!(
            m["conditions"][0]["arguments"][0]
                .as_str()
                .is_some_and(|a| a.contains("call_agent.AnsweredBy"))
        );
    }

    let gather = state(&flow, "gather_digit");
    assert_eq!(gather["type"], "gather-input-on-call");
    assert_eq!(gather["properties"]["number_of_digits"], 1);
    let say = gather["properties"]["say"].as_str().expect("say");
    assert!(say.contains("{{flow.data.incident_number}}"), "{say}");
    assert!(say.contains("{{flow.data.short_description}}"), "{say}");
    for digit in ["1", "2", "3"] {
        assert!(
            say.contains(&format!("Press {digit}")) || say.contains(&format!("{digit} to")),
            "{say}"
        );
    }
    assert_eq!(next(gather, "timeout"), None);
    // An agent who says "one" is asked to use the keypad and hears the gather again.
    let keypad = state(&flow, next(gather, "speech").expect("speech goes on"));
    assert_eq!(keypad["type"], "say-play");
    assert!(
        keypad["properties"]["say"]
            .as_str()
            .is_some_and(|s| s.contains("keypad"))
    );
    assert_eq!(next(keypad, "audioComplete"), Some("gather_digit"));

    // Each digit is confirmed by a say-play that ends the execution.
    let route = state(&flow, next(gather, "keypress").expect("keypress"));
    assert_eq!(route["type"], "split-based-on");
    let mut confirmed = Vec::new();
    for t in route["transitions"].as_array().expect("transitions") {
        let target = state(&flow, t["next"].as_str().expect("every branch confirms"));
        assert_eq!(target["type"], "say-play");
        assert!(
            target["transitions"]
                .as_array()
                .expect("transitions")
                .iter()
                .all(|t| t["next"].is_null()),
            "{} must end the execution",
            target["name"]
        );
        if t["event"] == "match" {
            assert_eq!(
                t["conditions"][0]["arguments"][0],
                "{{widgets.gather_digit.Digits}}"
            );
            confirmed.push(
                t["conditions"][0]["value"]
                    .as_str()
                    .expect("digit")
                    .to_owned(),
            );
        }
    }
    assert_eq!(confirmed, ["1", "2", "3"]);

    // Nothing calls out: the Lambdas read the outcome from the execution context.
    for s in flow["states"].as_array().expect("states") {
        let t = s["type"].as_str().unwrap_or_default();
        assert!(
            t != "run-function" && t != "make-http-request",
            "{} is a {t}",
            s["name"]
        );
    }
}
