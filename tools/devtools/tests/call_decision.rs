//! A key applied during the call, through the real handlers (trigger, dialer, call-decision
//! behind a local HTTP server, flow-events, updater; moto) and the Twilio fake walking the
//! shipped flow, whose HTTP Request widget calls call-decision when the agent presses 1:
//! the agent hears that the incident is theirs, and the flow-end event changes nothing;
//! with call-decision down the flow confirms as before and the end of the call accepts
//! once; a forged token is refused and changes nothing; an accept answered at once is
//! offered the bridge (press 4) as the fallback path's is.

mod support;

use escalation_devtools::stack::{ALICE, Stack, StackOptions};
use escalation_fakes::twilio::AgentStep;
use lambda_http::Body;
use support::{SETTLE, press, stack_with_decisions, stack_with_decisions_and, sys_id};

async fn stack_with(up: bool, env: Vec<(&'static str, String)>) -> Stack {
    let options = StackOptions {
        env,
        ..StackOptions::default()
    };
    stack_with_decisions_and(up, options).await
}

fn accepted_notes(stack: &Stack, id: &str) -> usize {
    stack
        .sn
        .work_notes(id)
        .iter()
        .filter(|n| n.contains("ACCEPTED by Alice"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_press_is_applied_during_the_call_and_the_flow_end_changes_nothing() {
    let stack = stack_with_decisions(true).await;
    stack.twilio.script(ALICE, vec![press("1")]);
    let id = sys_id(1301);
    assert_eq!(
        stack.trigger(&id, "INC0011301", "Disk full", "1").await.0,
        202
    );
    stack.settle(&[&id], SETTLE).await;

    let calls = stack.twilio.executions();
    assert_eq!(calls.len(), 1);
    let heard: Vec<&str> = calls[0].heard.iter().map(|h| h.text.as_str()).collect();
    assert!(
        heard
            .last()
            .is_some_and(|t| t.starts_with("You are assigned incident I N C")),
        "{heard:#?}"
    );
    let esc = stack.escalation(&id).await.expect("stored").escalation;
    assert_eq!(esc.accepted_by(), Some("Alice Agent"));
    assert_eq!(esc.history().len(), 1, "one outcome");
    assert_eq!(accepted_notes(&stack, &id), 1, "one assignment note");
    let incident = stack.sn.incident(&id).expect("incident");
    assert!(
        incident
            .get("assigned_to")
            .is_some_and(|v| !v.is_null() && v != ""),
        "{incident:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_accept_applied_during_the_call_is_offered_the_bridge() {
    let bridge = "https://in.example/";
    let stack = stack_with(true, vec![("BRIDGE_URL", bridge.to_string())]).await;
    stack.twilio.script(
        ALICE,
        vec![AgentStep::Keys {
            keys: "14".into(),
            after_ms: 0,
        }],
    );
    let id = sys_id(1304);
    assert_eq!(
        stack.trigger(&id, "INC0011304", "Disk full", "1").await.0,
        202
    );
    stack.settle(&[&id], SETTLE).await;

    let call = &stack.twilio.executions()[0];
    let heard: Vec<&str> = call.heard.iter().map(|h| h.text.as_str()).collect();
    assert_eq!(heard.len(), 3, "{heard:#?}");
    assert!(
        heard[1].starts_with("You are assigned incident I N C"),
        "{heard:#?}"
    );
    assert!(heard[2].contains("press 4"), "{heard:#?}");
    assert!(
        call.redirected_to
            .as_deref()
            .is_some_and(|u| u.starts_with(bridge)),
        "the 4 hands the call to the bridge: {:?}",
        call.redirected_to
    );
    let esc = stack.escalation(&id).await.expect("stored").escalation;
    assert_eq!(esc.accepted_by(), Some("Alice Agent"));
    assert_eq!(esc.history().len(), 1, "one outcome");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_the_endpoint_down_the_end_of_the_call_accepts_once() {
    let stack = stack_with_decisions(false).await;
    stack.twilio.script(ALICE, vec![press("1")]);
    let id = sys_id(1302);
    assert_eq!(
        stack.trigger(&id, "INC0011302", "Disk full", "1").await.0,
        202
    );
    stack.settle(&[&id], SETTLE).await;

    let calls = stack.twilio.executions();
    let heard: Vec<&str> = calls[0].heard.iter().map(|h| h.text.as_str()).collect();
    assert!(
        heard
            .last()
            .is_some_and(|t| t.starts_with("You accepted incident")),
        "{heard:#?}"
    );
    let esc = stack.escalation(&id).await.expect("stored").escalation;
    assert_eq!(esc.accepted_by(), Some("Alice Agent"));
    assert_eq!(esc.history().len(), 1);
    assert_eq!(accepted_notes(&stack, &id), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_forged_token_is_refused_and_changes_nothing() {
    let stack = Stack::start(StackOptions {
        auto_end: false,
        ..StackOptions::default()
    })
    .await;
    stack.twilio.script(ALICE, vec![press("1")]);
    let id = sys_id(1303);
    stack.trigger(&id, "INC0011303", "Disk full", "1").await;
    let before = stack.escalation(&id).await.expect("stored");
    let attempt = before.escalation.current().expect("calling").clone();
    let sid = attempt.execution_sid.expect("placed").to_string();
    let decision = stack
        .parts
        .call_decision(&stack.aws, &stack.resources.dial_queue_url)
        .expect("call-decision");
    for token in ["forged", ""] {
        let body = serde_urlencoded::to_string([
            ("token", token),
            ("escalation_id", before.escalation.id().as_str()),
            ("sys_id", id.as_str()),
            ("attempt", "1"),
            ("execution_sid", sid.as_str()),
            ("digit", "1"),
        ])
        .unwrap();
        let req = lambda_http::http::Request::builder()
            .method("POST")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::Text(body))
            .unwrap();
        let resp = decision.handle(req).await.unwrap();
        assert_eq!(resp.status().as_u16(), 401, "token {token:?}");
    }
    let after = stack.escalation(&id).await.expect("stored");
    assert_eq!(after.version, before.version, "nothing written");
    assert!(after.escalation.accepted_by().is_none());
}
