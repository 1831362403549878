//! Declining with a reason, through the real handlers (trigger, dialer, flow-events,
//! updater; moto) and the Twilio fake walking the shipped flow: after a 2 the person is
//! asked why; the key they press (1 driving, 2 no laptop, 3 not my area) is read from the
//! finished execution and lands in the call's work note; no key is a plain pass.

mod support;

use escalation_core::model::{CallOutcome, DeclineReason};
use escalation_devtools::stack::{ALICE, BOB, Stack, StackOptions};
use escalation_fakes::twilio::AgentStep;
use support::{SETTLE, press, sys_id};

fn keys(keys: &str) -> AgentStep {
    AgentStep::Keys {
        keys: keys.into(),
        after_ms: 0,
    }
}

const ASKED: &str = "Before you go: press 1 if you are driving, 2 if you have no laptop with you, \
                     3 if this is not your area.";

#[tokio::test]
async fn the_reason_pressed_after_a_pass_reaches_the_work_note() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.twilio.script(ALICE, vec![keys("23")]);
    stack.twilio.script(BOB, vec![press("1")]);
    let id = sys_id(960);
    assert_eq!(
        stack.trigger(&id, "INC0010960", "Disk full", "1").await.0,
        202
    );
    stack.settle(&[&id], SETTLE).await;

    let calls = stack.twilio.executions();
    assert_eq!(calls.len(), 2, "Alice declines, Bob is called and accepts");
    let alice: Vec<&str> = calls[0].heard.iter().map(|h| h.text.as_str()).collect();
    assert_eq!(alice.len(), 3, "{alice:#?}");
    assert_eq!(alice[1], ASKED);
    assert!(alice[2].starts_with("You passed incident"), "{}", alice[2]);

    let esc = stack.escalation(&id).await.expect("stored").escalation;
    assert_eq!(
        esc.history()[0].outcome,
        CallOutcome::Declined(DeclineReason::NotMyArea)
    );
    assert_eq!(esc.accepted_by(), Some("Bob Agent"));
    let notes = stack.sn.work_notes(&id);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("Alice") && n.contains("reason: not my area (pressed 3)")),
        "{notes:#?}"
    );
}

#[tokio::test]
async fn no_key_after_the_pass_is_a_pass_without_a_reason() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.twilio.script(ALICE, vec![press("2")]);
    stack.twilio.script(BOB, vec![press("1")]);
    let id = sys_id(961);
    assert_eq!(
        stack.trigger(&id, "INC0010961", "Disk full", "1").await.0,
        202
    );
    stack.settle(&[&id], SETTLE).await;

    let calls = stack.twilio.executions();
    let alice: Vec<&str> = calls[0].heard.iter().map(|h| h.text.as_str()).collect();
    assert_eq!(alice[1], ASKED, "asked once, then the goodbye");
    assert!(alice[2].starts_with("You passed incident"), "{}", alice[2]);
    let esc = stack.escalation(&id).await.expect("stored").escalation;
    assert_eq!(esc.history()[0].outcome, CallOutcome::Passed);
    let notes = stack.sn.work_notes(&id);
    assert!(notes.iter().all(|n| !n.contains("reason:")), "{notes:#?}");
}
