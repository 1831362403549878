//! Outside changes: an incident taken, resolved, closed or lowered in ServiceNow while we
//! are calling about it. The rule's signed cancel ends the escalation and hangs up the
//! ringing call; an update that would reopen a resolved or closed incident is never sent.

mod support;

use escalation_core::escalation::Status;
use escalation_core::ports::Metric;
use escalation_core::testing::RecordingMetrics;
use escalation_devtools::stack::{ALICE, BOB, SN_USER, Stack, StackOptions, user_sys_id};
use escalation_fakes::twilio::AgentStep;
use serde_json::{Value, json};
use std::sync::Arc;
use support::{SETTLE, dialled, down, patches, press, press_after, sys_id};

/// Beth changes the incident in ServiceNow's UI; the rule's cancel must be answered
/// CANCELLED. Waits for the queued work, then returns the trigger's answer.
async fn beth_cancels(stack: &Stack, id: &str, fields: Value) -> Value {
    let (status, body) = stack
        .change_in_servicenow(id, fields, "beth.anglin")
        .await
        .expect("the rule sends a cancel");
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("CANCELLED")),
        "{body}"
    );
    stack.settle(&[id], SETTLE).await;
    body
}

/// Alice's phone rings for a long while (she does not answer within the test).
fn rings_on() -> AgentStep {
    AgentStep::NoAnswer { after_ms: 20_000 }
}

#[tokio::test]
async fn resolving_the_incident_while_alice_rings_hangs_up_and_calls_nobody_else() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.twilio.script(ALICE, vec![rings_on()]);
    let id = sys_id(0x13_02);
    stack
        .trigger(&id, "INC0013002", "Payroll export stuck", "1")
        .await;
    stack.pump_sqs().await;

    let body = beth_cancels(
        &stack,
        &id,
        json!({"state": "6", "close_code": "Solved (Permanently)"}),
    )
    .await;
    assert_eq!(body["hung_up"], "Alice Agent");
    let alice = &stack.twilio.executions()[0];
    assert_eq!(
        alice.ended_by.as_deref(),
        Some("hangup"),
        "her call was hung up, which ended its execution: {alice:?}"
    );
    let hang_ups = stack.twilio.hang_ups();
    assert_eq!(hang_ups.len(), 1, "{hang_ups:?}");
    assert_eq!(
        (
            hang_ups[0].call_sid.as_str(),
            hang_ups[0].requested.as_str(),
            hang_ups[0].was.as_str(),
        ),
        (alice.call_sid.as_str(), "completed", "ringing"),
        "through the Calls API, while it rang"
    );
    assert!(hang_ups[0].ended_a_live_call());

    stack.sweep_ahead(3_600_000).await;
    stack.settle(&[&id], SETTLE).await;
    assert_eq!(dialled(&stack), vec![ALICE], "nobody else is called");
    let esc = stack.escalation(&id).await.unwrap().escalation;
    assert_eq!(esc.status(), Status::Cancelled);
    let notes = stack.sn.work_notes(&id);
    let last = notes.last().unwrap();
    assert!(
        last.contains("Phone escalation CANCELLED: the incident was resolved by Beth Anglin")
            && last.contains("The ringing call to Alice Agent was hung up. No further calls."),
        "{notes:#?}"
    );
    assert_eq!(stack.sn.incident(&id).unwrap()["state"], "6");
}

#[tokio::test]
async fn assigning_the_incident_in_servicenow_cancels_but_our_own_writes_never_do() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.twilio.script(ALICE, vec![rings_on()]);
    let id = sys_id(0x13_03);
    stack.trigger(&id, "INC0013003", "VPN down", "2").await;

    assert_eq!(
        stack
            .change_in_servicenow(
                &id,
                json!({"work_notes": "looking", "assigned_to": user_sys_id("alice.agent")}),
                SN_USER
            )
            .await,
        None,
        "the integration user's own write sends nothing"
    );
    assert_eq!(
        stack
            .change_in_servicenow(
                &id,
                json!({"short_description": "VPN down (EU)"}),
                "beth.anglin"
            )
            .await,
        None,
        "an edit that does not handle the incident sends nothing"
    );
    beth_cancels(
        &stack,
        &id,
        json!({"assigned_to": user_sys_id("bob.agent")}),
    )
    .await;
    assert!(!dialled(&stack).contains(&BOB.to_string()));
    let notes = stack.sn.work_notes(&id);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("the incident was assigned to Bob Agent by Beth Anglin")),
        "{notes:#?}"
    );
    // A second cancel for the same incident (the rule fired twice) changes nothing.
    beth_cancels(&stack, &id, json!({"state": "6"})).await;
    assert_eq!(
        stack
            .sn
            .work_notes(&id)
            .iter()
            .filter(|n| n.contains("CANCELLED"))
            .count(),
        1
    );
}

#[tokio::test]
async fn lowering_the_priority_below_the_escalating_ones_cancels() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.twilio.script(ALICE, vec![rings_on()]);
    let id = sys_id(0x13_04);
    stack.trigger(&id, "INC0013004", "Printer queue", "1").await;
    beth_cancels(&stack, &id, json!({"priority": "3"})).await;
    let notes = stack.sn.work_notes(&id);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("lowered to priority 3, which does not escalate")),
        "{notes:#?}"
    );
}

#[tokio::test]
async fn a_forged_cancel_is_refused_and_changes_nothing() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.twilio.script(ALICE, vec![rings_on()]);
    let id = sys_id(0x13_05);
    stack.trigger(&id, "INC0013005", "Disk full", "1").await;
    let body = json!({"type": "cancel", "sys_id": id, "number": "INC0013005", "reason": "resolved", "event_id": "x"});
    let forged = stack.url_event(
        "POST",
        &body.to_string(),
        &[
            ("content-type", "application/json".into()),
            ("x-signature-timestamp", (support::now() / 1000).to_string()),
            ("x-signature", "bm90IHRoZSBzaWduYXR1cmU=".into()),
        ],
    );
    let (status, _) = stack.invoke_trigger(&forged).await;
    assert_eq!(status, 401);
    let esc = stack.escalation(&id).await.unwrap().escalation;
    assert_eq!(esc.status(), Status::Active);
    assert!(stack.twilio.executions()[0].ended_by.is_none());
}

/// The cancel never arrived (the rule is not installed, or its request was lost): Alice
/// presses 1 after the incident was resolved. Her acceptance is noted, but the incident is
/// not put back to In Progress.
#[tokio::test]
async fn an_accept_never_reopens_a_resolved_incident() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.twilio.script(ALICE, vec![press("1")]);
    let id = sys_id(0x13_01);
    stack.trigger(&id, "INC0013001", "Billing down", "1").await;
    stack.sn.change_from_ui(
        &id,
        &json!({"state": "6", "close_code": "Solved (Permanently)"}),
        "beth.anglin",
    );
    stack.settle(&[&id], SETTLE).await;

    let incident = stack.sn.incident(&id).unwrap();
    assert_eq!(incident["state"], "6", "still resolved: {incident:?}");
    for p in patches(&stack, &id) {
        assert!(
            p.get("state").is_none() && p.get("assigned_to").is_none(),
            "no write reopens or reassigns the resolved incident: {p}"
        );
    }
    let notes = stack.sn.work_notes(&id);
    assert!(
        notes.last().unwrap().contains("already resolved or closed"),
        "the note says why nothing else changed: {notes:#?}"
    );
}

#[tokio::test]
async fn assigning_the_incident_while_alice_is_on_the_line_hangs_up_her_answered_call() {
    let stack = Stack::start(StackOptions::default()).await;
    // She answered and is listening to the incident; she has not pressed anything yet.
    stack.twilio.script(ALICE, vec![press_after("1", 20_000)]);
    let id = sys_id(0x13_06);
    stack
        .trigger(&id, "INC0013006", "Mail relay down", "1")
        .await;
    let body = beth_cancels(
        &stack,
        &id,
        json!({"assigned_to": user_sys_id("bob.agent")}),
    )
    .await;
    assert_eq!(body["hung_up"], "Alice Agent");
    let hang_ups = stack.twilio.hang_ups();
    assert_eq!(
        hang_ups
            .iter()
            .map(|h| (h.was.as_str(), h.now.as_str()))
            .collect::<Vec<_>>(),
        vec![("in-progress", "completed")],
        "an answered call is hung up too (Status=completed)"
    );
    stack.sweep_ahead(3_600_000).await;
    stack.settle(&[&id], SETTLE).await;
    assert_eq!(dialled(&stack), vec![ALICE], "nobody else is called");
    let esc = stack.escalation(&id).await.unwrap().escalation;
    assert_eq!(esc.status(), Status::Cancelled);
    assert!(
        stack
            .sn
            .work_notes(&id)
            .iter()
            .all(|n| !n.contains("accepted")),
        "her key was never pressed, nothing is assigned to her"
    );
}

#[tokio::test]
async fn a_hang_up_that_fails_still_cancels_counts_it_and_calls_nobody_else() {
    let metrics = Arc::new(RecordingMetrics::default());
    let stack = Stack::start(StackOptions {
        metrics: Some(metrics.clone()),
        ..StackOptions::default()
    })
    .await;
    stack.twilio.script(ALICE, vec![rings_on()]);
    let id = sys_id(0x13_07);
    stack
        .trigger(&id, "INC0013007", "Storage array degraded", "1")
        .await;
    // Every hang-up request fails (Twilio answers 500).
    stack.twilio.inject(down("POST", "/Calls/", 500));
    let body = beth_cancels(&stack, &id, json!({"state": "6"})).await;
    assert!(body["hung_up"].is_null(), "{body}");
    assert_eq!(metrics.total(Metric::HangUpFailures), 1.0);
    assert_eq!(metrics.total(Metric::Cancelled), 1.0);
    assert!(stack.twilio.hang_ups().is_empty(), "no hang-up got through");
    let alice = &stack.twilio.executions()[0];
    assert_eq!(
        alice.ended_by.as_deref(),
        Some("api"),
        "the execution is ended all the same: {alice:?}"
    );
    stack.twilio.clear_faults();
    stack.sweep_ahead(3_600_000).await;
    stack.settle(&[&id], SETTLE).await;
    assert_eq!(dialled(&stack), vec![ALICE], "nobody else is called");
    let esc = stack.escalation(&id).await.unwrap().escalation;
    assert_eq!(esc.status(), Status::Cancelled);
    assert!(
        stack
            .sn
            .work_notes(&id)
            .iter()
            .any(|n| n.contains("Phone escalation CANCELLED")),
        "{:#?}",
        stack.sn.work_notes(&id)
    );
}
