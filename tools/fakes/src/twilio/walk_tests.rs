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
            execution_sid: "FN1",
            http_timeout: std::time::Duration::from_millis(200),
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
        ),
        "without a bridge URL the accepted call ends after the confirmation"
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

fn run_with(definition: &Value, step: AgentStep, extra: Value) -> Walked {
    let mut data = params();
    for (k, v) in extra.as_object().unwrap() {
        data[k] = v.clone();
    }
    walk(
        definition,
        &step,
        &Call {
            execution_sid: "FN1",
            http_timeout: std::time::Duration::from_millis(500),
            sid: "CA1",
            to: "+15550100001",
            from: "+15550109999",
            data: &data,
        },
    )
}

/// A one-request endpoint answering `status` and `body`; returns its URL and what it got.
fn endpoint(status: u16, body: &'static str) -> (String, std::thread::JoinHandle<String>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/decide", listener.local_addr().unwrap());
    let got = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let n = conn.read(&mut buf).unwrap();
        let req = String::from_utf8_lossy(&buf[..n]).to_string();
        let answer = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        conn.write_all(answer.as_bytes()).unwrap();
        req
    });
    (url, got)
}

#[test]
fn a_key_is_reported_at_once_and_the_answer_read_aloud() {
    let (url, got) = endpoint(
        200,
        r#"{"say": "You are assigned incident 42.", "outcome": "assigned"}"#,
    );
    let extra = json!({"decision_url": url, "decision_token": "tok", "attempt": 2});
    let w = run_with(&shipped_flow(), keys("1"), extra);
    assert_eq!(
        texts(&w),
        ["Details. Menu.", "You are assigned incident 42."]
    );
    let req = got.join().unwrap();
    assert!(req.starts_with("POST /decide HTTP/1.1"), "{req}");
    for field in ["token=tok", "attempt=2", "execution_sid=FN1", "digit=1"] {
        assert!(req.contains(field), "{field} in {req}");
    }
    assert_eq!(w.widgets["report_decision"]["status_code"], 200);
    assert_eq!(
        w.last,
        (
            "check_bridge".into(),
            "noMatch".into(),
            "split-based-on".into()
        ),
        "an assigned answer is routed to the bridge check; without a bridge URL the call ends"
    );

    let (url, got) = endpoint(200, r#"{"say": "Passed, thank you."}"#);
    let extra = json!({"decision_url": url, "decision_token": "tok"});
    let w = run_with(&shipped_flow(), keys("23"), extra);
    assert_eq!(texts(&w), ["Details. Menu.", "Why?", "Passed, thank you."]);
    assert!(got.join().unwrap().contains("reason=3"));
}

#[test]
fn a_refused_or_failed_report_confirms_as_before() {
    let (url, got) = endpoint(401, r#"{"error": "token"}"#);
    let extra = json!({"decision_url": url, "decision_token": "forged"});
    let w = run_with(&shipped_flow(), keys("1"), extra);
    assert_eq!(texts(&w), ["Details. Menu.", "Accepted."]);
    got.join().unwrap();
    assert_eq!(w.widgets["gather_digit"]["Digits"], "1");

    // Nothing listens there: the endpoint is down.
    let down = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/decide", down.local_addr().unwrap());
    drop(down);
    let w = run_with(&shipped_flow(), keys("2"), json!({"decision_url": url}));
    assert_eq!(texts(&w), ["Details. Menu.", "Why?", "Passed."]);
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
                execution_sid: "FN1",
                http_timeout: std::time::Duration::from_millis(200),
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
fn an_accept_the_endpoint_assigned_is_offered_the_bridge_and_another_answer_is_not() {
    let bridge = "https://in.example/bridge/open?e=ESC-1&c=ab";
    let (url, got) = endpoint(
        200,
        r#"{"say": "You are assigned incident 42.", "outcome": "assigned"}"#,
    );
    let extra = json!({"decision_url": url, "decision_token": "tok", "bridge_url": bridge});
    let w = run_with(&shipped_flow(), keys("14"), extra);
    got.join().unwrap();
    assert_eq!(
        texts(&w),
        [
            "Details. Menu.",
            "You are assigned incident 42.",
            "Press 4."
        ]
    );
    assert_eq!(w.redirected_to.as_deref(), Some(bridge));

    let (url, got) = endpoint(
        200,
        r#"{"say": "Already accepted by Bob.", "outcome": "already_accepted", "accepted_by": "Bob"}"#,
    );
    let extra = json!({"decision_url": url, "decision_token": "tok", "bridge_url": bridge});
    let w = run_with(&shipped_flow(), keys("14"), extra);
    got.join().unwrap();
    assert_eq!(texts(&w), ["Details. Menu.", "Already accepted by Bob."]);
    assert!(
        w.redirected_to.is_none(),
        "no bridge for someone who did not get the incident"
    );
    assert_eq!(w.last.0, "route_decision");
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
