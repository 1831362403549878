//! A ring-all step through the real handlers (trigger, dialer, call-decision behind a local
//! HTTP server, flow-events, updater; moto) and the Twilio fake walking the shipped flow:
//! everyone of the step is called at once, the first press of 1 wins, the other calls are
//! ended through the Executions API within a second, their flow-end events change nothing,
//! and presses at the same moment assign the incident once.

mod support;

use escalation_core::model::CallOutcome;
use escalation_devtools::stack::{ALICE, BOB, CAROL, Stack, StackOptions};
use escalation_fakes::twilio::AgentStep;
use serde_json::json;
use support::{SETTLE, assignments, press_after, said, stack_with_decisions_and, sys_id};

/// Alice, Bob and Carol (the test roster's numbers) in one ring-all step.
fn ring_all_policy() -> String {
    json!({
        "people": {
            "alice": {"name": "Alice Agent", "phone": ALICE, "sn_user": "alice.agent"},
            "bob": {"name": "Bob Agent", "phone": BOB, "sn_user": "bob.agent"},
            "carol": {"name": "Carol Manager", "phone": CAROL, "sn_user": "carol.manager"}
        },
        "default": {"steps": [{"people": ["alice", "bob", "carol"], "ring": "all", "redials": 0}]}
    })
    .to_string()
}

async fn ring_all_stack() -> Stack {
    stack_with_decisions_and(
        true,
        StackOptions {
            roster_json: ring_all_policy(),
            ..StackOptions::default()
        },
    )
    .await
}

fn rings_long() -> AgentStep {
    AgentStep::NoAnswer { after_ms: 20_000 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn everyone_rings_at_once_the_first_press_wins_and_the_others_are_hung_up_within_a_second() {
    let stack = ring_all_stack().await;
    stack.twilio.script(ALICE, vec![rings_long()]);
    stack.twilio.script(BOB, vec![press_after("1", 300)]);
    stack.twilio.script(CAROL, vec![rings_long()]);
    let id = sys_id(1351);
    assert_eq!(
        stack
            .trigger(&id, "INC0011351", "Checkout down", "1")
            .await
            .0,
        202
    );
    stack.settle(&[&id], SETTLE).await;

    let calls = stack.twilio.executions();
    let to: Vec<&str> = calls.iter().map(|e| e.to.as_str()).collect();
    assert_eq!(to, [ALICE, BOB, CAROL], "three calls, one each");
    let first = calls.iter().map(|e| e.created_at_ms).min().unwrap();
    let last = calls.iter().map(|e| e.created_at_ms).max().unwrap();
    assert!(
        last - first < 1_000,
        "placed together: {} ms apart",
        last - first
    );
    let bob = &calls[1];
    assert!(
        said(bob)
            .last()
            .is_some_and(|t| t.starts_with("You are assigned incident")),
        "{:#?}",
        said(bob)
    );

    let esc = stack.escalation(&id).await.expect("stored").escalation;
    assert_eq!(esc.accepted_by(), Some("Bob Agent"));
    let accepted_at = esc.history()[0].ended_at;
    for loser in [&calls[0], &calls[2]] {
        assert_eq!(
            loser.ended_by.as_deref(),
            Some("hangup"),
            "{} hung up through the Calls API",
            loser.to
        );
        let hang_ups = stack.twilio.hang_ups();
        assert!(
            hang_ups
                .iter()
                .any(|h| h.execution_sid.as_deref() == Some(loser.sid.as_str())
                    && h.ended_a_live_call()),
            "{}'s live call was hung up through the Calls API: {hang_ups:#?}",
            loser.to
        );
        let hung_up_after = loser.ended_at_ms.unwrap().saturating_sub(accepted_at);
        assert!(
            hung_up_after < 1_000,
            "{} hung up {hung_up_after} ms after the press",
            loser.to
        );
        eprintln!("{} hung up {hung_up_after} ms after the press", loser.to);
    }
    let outcomes: Vec<(&str, &CallOutcome)> = esc
        .history()
        .iter()
        .map(|h| (h.name.as_str(), &h.outcome))
        .collect();
    let hung_up = CallOutcome::HungUp("Bob Agent".into());
    assert_eq!(
        outcomes,
        [
            ("Bob Agent", &CallOutcome::Accepted),
            ("Alice Agent", &hung_up),
            ("Carol Manager", &hung_up)
        ],
        "the losers' flow-end events changed nothing"
    );
    assert_eq!(assignments(&stack, &id).len(), 1, "assigned once");
    let notes = stack.sn.work_notes(&id);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("Hung up the other calls of the step: Alice Agent, Carol Manager")),
        "{notes:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn presses_of_the_whole_ring_at_the_same_moment_assign_the_incident_once() {
    let stack = ring_all_stack().await;
    for number in [ALICE, BOB, CAROL] {
        stack.twilio.script(number, vec![press_after("1", 300)]);
    }
    let id = sys_id(1352);
    stack.trigger(&id, "INC0011352", "Checkout down", "1").await;
    stack.settle(&[&id], SETTLE).await;
    support::calls_over(&stack).await;

    let esc = stack.escalation(&id).await.expect("stored").escalation;
    let winner = esc.accepted_by().expect("someone accepted").to_owned();
    let accepted: Vec<&str> = esc
        .history()
        .iter()
        .filter(|h| h.outcome == CallOutcome::Accepted)
        .map(|h| h.name.as_str())
        .collect();
    assert_eq!(accepted, [winner.as_str()], "one accept");
    assert_eq!(esc.history().len(), 3, "one outcome per call");
    assert_eq!(assignments(&stack, &id).len(), 1, "assigned once");
    let assigned_to_winner = stack
        .sn
        .work_notes(&id)
        .iter()
        .filter(|n| n.contains("ACCEPTED by"))
        .count();
    assert_eq!(assigned_to_winner, 1);
    // A loser whose press reached call-decision before their call was hung up hears who
    // has the incident.
    let mut late = 0;
    for call in stack.twilio.executions() {
        let words = said(&call).join(" ");
        if !words.contains("You are assigned") && words.contains("already accepted") {
            assert!(
                words.contains(&format!("already accepted by {winner}")),
                "{words}"
            );
            late += 1;
        }
    }
    eprintln!("losers who heard who accepted: {late}");
    let told_assigned = stack
        .twilio
        .executions()
        .iter()
        .filter(|e| said(e).iter().any(|t| t.starts_with("You are assigned")))
        .count();
    assert_eq!(
        told_assigned, 1,
        "only the winner hears the incident is theirs"
    );
}

/// Twilio takes 300 ms to answer each hang-up: Carol presses 1 200 ms after Bob, while
/// her call is being hung up, and hears that Bob has the incident; Bob hears it is his.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_loser_who_presses_while_being_hung_up_hears_who_accepted() {
    let stack = ring_all_stack().await;
    for path in ["/Calls/CA", "/Executions/FN"] {
        stack.twilio.inject(escalation_fakes::FaultRule {
            method: Some("POST".into()),
            path_contains: Some(path.into()),
            delay_ms: 300,
            times: 100,
            ..Default::default()
        });
    }
    stack.twilio.script(ALICE, vec![rings_long()]);
    stack.twilio.script(BOB, vec![press_after("1", 300)]);
    stack.twilio.script(CAROL, vec![press_after("1", 500)]);
    let id = sys_id(1353);
    stack.trigger(&id, "INC0011353", "Checkout down", "1").await;
    stack.settle(&[&id], SETTLE).await;
    support::calls_over(&stack).await;

    let calls = stack.twilio.executions();
    assert!(
        said(&calls[1])
            .last()
            .is_some_and(|t| t.starts_with("You are assigned incident")),
        "Bob: {:#?}",
        said(&calls[1])
    );
    assert_eq!(
        said(&calls[2]).last().copied(),
        Some("This incident was already accepted by Bob Agent. Thank you.")
    );
    let esc = stack.escalation(&id).await.expect("stored").escalation;
    assert_eq!(esc.accepted_by(), Some("Bob Agent"));
    assert_eq!(assignments(&stack, &id).len(), 1, "assigned once");
    let accepted_at = esc.history()[0].ended_at;
    let alice_hung_up = calls[0].ended_at_ms.unwrap().saturating_sub(accepted_at);
    eprintln!("with 300 ms per hang-up, Alice hung up {alice_hung_up} ms after the press");
    assert!(alice_hung_up < 1_000, "{alice_hung_up} ms");
}
