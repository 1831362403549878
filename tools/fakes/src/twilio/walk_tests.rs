//! The walk of the shipped flow and of small flows, widget by widget.

use super::super::flows::shipped_flow;
use super::*;

fn params() -> Value {
    json!({
        "language": "de-DE", "voice": "Polly.Marlene",
        "say_details": "Details.", "say_menu": "Menu.", "say_full": "Full.",
        "say_accepted": "Accepted.", "say_passed": "Passed.", "say_escalated": "Escalated.",
        "say_invalid": "Invalid.", "say_use_keypad": "Keypad.", "say_reason": "Why?",
        "say_bridge_offer": "Press 4.", "bridge_url": "",
    })
}

fn run(definition: &Value, step: AgentStep) -> Walked {
    let data = params();
    walk(
        definition,
        &step,
        &Call {
            sid: "CA1",
            to: "+15550100001",
            from: "+15550109999",
            data: &data,
        },
    )
}

fn texts(w: &Walked) -> Vec<&str> {
    w.heard.iter().map(|h| h.text.as_str()).collect()
}

fn keys(keys: &str) -> AgentStep {
    AgentStep::Keys {
        keys: keys.into(),
        after_ms: 0,
    }
}

#[test]
fn the_shipped_flow_repeats_reads_the_full_description_and_confirms() {
    let flow = shipped_flow();
    let w = run(&flow, keys("*91"));
    assert_eq!(
        texts(&w),
        [
            "Details. Menu.",
            "Details. Menu.",
            "Full. Menu.",
            "Accepted."
        ]
    );
    assert!(
        w.heard
            .iter()
            .all(|h| h.language == "de-DE" && h.voice == "Polly.Marlene")
    );
    assert_eq!(w.widgets["gather_digit"]["Digits"], "1");
    assert_eq!(w.widgets["call_agent"]["AnsweredBy"], "human");
    assert_eq!(w.variables["heading"], "Full.");
    assert_eq!(
        w.last,
        (
            "check_bridge".into(),
            "noMatch".into(),
            "split-based-on".into()
        )
    );

    let w = run(&flow, keys("72"));
    assert_eq!(
        texts(&w),
        [
            "Details. Menu.",
            "Invalid.",
            "Details. Menu.",
            "Why?",
            "Passed."
        ]
    );
    assert!(w.widgets["gather_reason"].get("Digits").is_none());
    // A reason after the pass is one more key, kept in the reason widget.
    let w = run(&flow, keys("21"));
    assert_eq!(texts(&w), ["Details. Menu.", "Why?", "Passed."]);
    assert_eq!(w.widgets["gather_digit"]["Digits"], "2");
    assert_eq!(w.widgets["gather_reason"]["Digits"], "1");
    let w = run(&flow, keys("3"));
    assert_eq!(texts(&w).last(), Some(&"Escalated."));
}

#[test]
fn with_a_bridge_url_an_accept_offers_4_which_hands_the_call_over() {
    let flow = shipped_flow();
    let mut data = params();
    data["bridge_url"] = json!("https://in.example/bridge/open?e=ESC-1&c=ab");
    let run_keys = |k: &str| {
        walk(
            &flow,
            &keys(k),
            &Call {
                sid: "CA1",
                to: "+15550100001",
                from: "+15550109999",
                data: &data,
            },
        )
    };
    let w = run_keys("14");
    assert_eq!(texts(&w), ["Details. Menu.", "Accepted.", "Press 4."]);
    assert_eq!(
        w.redirected_to.as_deref(),
        Some("https://in.example/bridge/open?e=ESC-1&c=ab")
    );
    assert_eq!(
        w.widgets["gather_digit"]["Digits"], "1",
        "the accept is read as before"
    );
    assert_eq!(w.last.0, "open_bridge");
    let w = run_keys("1");
    assert_eq!(texts(&w), ["Details. Menu.", "Accepted.", "Press 4."]);
    assert!(w.redirected_to.is_none());
    let w = run_keys("15");
    assert!(w.redirected_to.is_none(), "another key ends the call");
    // Without the URL there is no offer.
    let w = run(&flow, keys("14"));
    assert_eq!(texts(&w), ["Details. Menu.", "Accepted."]);
}

#[test]
fn silence_hears_the_prompt_twice_and_times_out() {
    let w = run(&shipped_flow(), AgentStep::Hangup { after_ms: 0 });
    assert_eq!(texts(&w), ["Details. Menu.", "Details. Menu."]);
    assert!(w.widgets["gather_digit"].get("Digits").is_none());
    assert_eq!(w.last.1, "timeout");
}

#[test]
fn the_switch_and_not_the_mode_turns_detection_on() {
    let flow = shipped_flow();
    let w = run(&flow, AgentStep::Machine { after_ms: 0 });
    assert_eq!(w.widgets["call_agent"]["AnsweredBy"], "machine_start");
    assert!(w.heard.is_empty(), "a detected mailbox hears nothing");

    let mut off = flow.clone();
    for s in off["states"].as_array_mut().unwrap() {
        if s["name"] == "call_agent" {
            s["properties"]["detect_answering_machine"] = json!(false);
        }
    }
    let w = run(&off, AgentStep::Machine { after_ms: 0 });
    assert!(w.widgets["call_agent"].get("AnsweredBy").is_none());
    assert_eq!(
        w.heard.len(),
        2,
        "an undetected mailbox is read the incident"
    );
    assert!(w.widgets["gather_digit"].get("Digits").is_none());

    let w = run(&flow, AgentStep::Busy { after_ms: 0 });
    assert_eq!(w.widgets["call_agent"]["CallStatus"], "busy");
    assert!(w.widgets.get("gather_digit").is_none());
}

#[test]
fn a_widget_that_loops_on_itself_is_stopped() {
    let flow = json!({"states": [
        {"name": "T", "type": "trigger", "transitions": [{"event": "incomingRequest", "next": "s"}]},
        {"name": "s", "type": "say-play", "properties": {"say": "{{flow.data.say_menu}} {{flow.data.nothing}}x"},
         "transitions": [{"event": "audioComplete", "next": "s"}]},
    ]});
    let w = run(&flow, keys(""));
    assert_eq!(w.heard.len(), 10);
    assert_eq!(w.heard[0].text, "Menu. x");
    assert_eq!(w.heard[0].language, "");
}
