//! Bundling through the real handlers (trigger, dialer on the SQS dial queue with its
//! delayed messages, flow-events, updater; moto) and the Twilio fake walking the shipped
//! flow: incidents that would call the same person within the window are one call, the
//! key pressed applies to each incident, and a lone incident waits the window, no more.

mod support;

use escalation_devtools::stack::{ALICE, BOB, Stack, StackOptions};
use support::{SETTLE, assignments, dialled, now, press, said, sys_id};

const WINDOW_SECS: u64 = 2;

async fn bundled_stack() -> Stack {
    Stack::start(StackOptions {
        env: vec![("BUNDLE_WINDOW_SECS", WINDOW_SECS.to_string())],
        ..StackOptions::default()
    })
    .await
}

/// Incidents `first..first+n` escalated one after another (each answered 202 at once).
async fn storm(stack: &Stack, first: u32, n: u32) -> Vec<String> {
    let mut ids = Vec::new();
    for i in first..first + n {
        let id = sys_id(i);
        let (status, body) = stack
            .trigger(
                &id,
                &format!("INC00{i:05}"),
                &format!("Database {i} down"),
                "1",
            )
            .await;
        assert_eq!(status, 202, "{body}");
        ids.push(id);
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_incidents_for_alice_are_one_call_and_her_accept_assigns_each() {
    let stack = bundled_stack().await;
    stack.twilio.script(ALICE, vec![press("1")]);
    let ids = storm(&stack, 1601, 3).await;
    assert!(
        dialled(&stack).is_empty(),
        "nobody is called during the window"
    );
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    stack.settle(&refs, SETTLE).await;

    let calls = stack.twilio.executions();
    assert_eq!(dialled(&stack), [ALICE], "one call about all three");
    let heard = said(&calls[0]);
    assert!(
        heard
            .iter()
            .any(|t| t.contains("3 new priority 1 incidents")),
        "{heard:#?}"
    );
    for id in &ids {
        let esc = stack.escalation(id).await.unwrap().escalation;
        assert_eq!(esc.accepted_by(), Some("Alice Agent"), "{id}");
        assert_eq!(assignments(&stack, id).len(), 1, "{id} assigned once");
        let notes = stack.sn.work_notes(id);
        assert!(
            notes
                .iter()
                .any(|n| n.contains("One call about 3 incidents")
                    && n.contains("INC0001601, INC0001602, INC0001603")),
            "{id}'s own note names the bundle: {notes:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn passing_a_bundle_moves_each_incident_on_and_bob_gets_one_call_about_all() {
    let stack = bundled_stack().await;
    stack.twilio.script(ALICE, vec![press("2")]);
    stack.twilio.script(BOB, vec![press("1")]);
    let ids = storm(&stack, 1611, 2).await;
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    stack.settle(&refs, SETTLE).await;

    assert_eq!(dialled(&stack), [ALICE, BOB]);
    for id in &ids {
        let esc = stack.escalation(id).await.unwrap().escalation;
        assert_eq!(esc.accepted_by(), Some("Bob Agent"), "{id}");
        assert_eq!(esc.history().len(), 2, "{id}: Alice's pass, Bob's accept");
        assert_eq!(assignments(&stack, id).len(), 1, "{id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lone_incident_is_called_when_the_window_ends_and_no_later() {
    let stack = bundled_stack().await;
    stack.twilio.script(ALICE, vec![press("1")]);
    let asked = now();
    let ids = storm(&stack, 1621, 1).await;
    stack.settle(&[&ids[0]], SETTLE).await;

    let calls = stack.twilio.executions();
    assert_eq!(calls.len(), 1);
    let waited = calls[0].created_at_ms.saturating_sub(asked);
    eprintln!("the lone incident's call was placed {waited} ms after the trigger");
    assert!(
        waited >= WINDOW_SECS * 1000 - 100,
        "it waits for others first: {waited} ms"
    );
    // The dial queue delivers a delayed message within a second of its delay (whole
    // seconds), and the dialer takes it at once.
    assert!(
        waited <= (WINDOW_SECS + 3) * 1000,
        "not delayed past the window: {waited} ms"
    );
    assert!(
        !said(&calls[0]).iter().any(|t| t.contains("new priority")),
        "an ordinary call"
    );
}
