//! Cancel: the incident was handled in ServiceNow while we were calling. The escalation
//! ends with the reason, the ringing call is hung up, nobody else is called (not by a late
//! flow-end event, not by the sweeper), and a note says why.

mod support;

use escalation_core::escalation::{Cancel, CancelReason, Status};
use escalation_core::model::CallOutcome;
use escalation_core::ports::Metric;
use escalation_core::testing::{PlaceScript, T0};
use escalation_core::usecase::{CancelResult, EventOutcome, EventResult};
use support::*;

fn resolved_by_beth() -> Cancel {
    Cancel {
        reason: CancelReason::Resolved,
        detail: None,
        by: Some("Beth Anglin".into()),
        at: T0 + 5_000,
    }
}

#[tokio::test]
async fn a_cancel_during_ringing_hangs_up_and_calls_nobody_else() {
    let s = Scenario::new();
    s.script(ALICE, [PlaceScript::Rings(CallOutcome::Accepted)]);
    s.start(1).await;
    let ringing = s.call(0);

    let result = s
        .engine
        .cancel(&sys_id(1), resolved_by_beth())
        .await
        .unwrap();
    let CancelResult::Cancelled { stored, hung_up } = result else {
        panic!("{result:?}")
    };
    assert_eq!(hung_up.as_deref(), Some("Alice Agent"));
    assert_eq!(stored.escalation.status(), Status::Cancelled);
    assert_eq!(
        stored.escalation.cancelled().map(|c| c.reason),
        Some(CancelReason::Resolved)
    );
    assert_eq!(s.m.dialer.hung_up(), vec![ringing.clone()]);

    // Alice pressed 1 just as the call was hung up: her flow-end event arrives late.
    let late = s.deliver(&ringing).await;
    assert!(
        matches!(late, EventOutcome::Applied(EventResult::Ignored(_))),
        "{late:?}"
    );
    s.sweep_at(3_600_000).await;
    assert_eq!(s.dialled(), vec![ALICE], "nobody else is called");
    assert_eq!(s.esc(1).status(), Status::Cancelled);
    assert_eq!(s.metric(Metric::Cancelled), 1.0);

    let notes = s.write_notes(1).await;
    let note = notes.last().unwrap();
    assert!(
        note.contains("CANCELLED: the incident was resolved by Beth Anglin")
            && note.contains("The ringing call to Alice Agent was hung up. No further calls."),
        "{note}"
    );
    assert!(
        s.m.servicenow
            .patches()
            .iter()
            .all(|p| p.patch.state.is_none()),
        "the late press never puts the incident In Progress"
    );
}

#[tokio::test]
async fn a_cancel_after_an_acceptance_changes_nothing() {
    let s = Scenario::new();
    s.script(ALICE, [press("1")]);
    s.start(2).await;
    s.settle().await;
    let result = s
        .engine
        .cancel(&sys_id(2), resolved_by_beth())
        .await
        .unwrap();
    assert!(
        matches!(&result, CancelResult::AlreadyFinished(st) if st.escalation.status() == Status::Accepted),
        "{result:?}"
    );
    assert!(s.m.dialer.hung_up().is_empty());
    assert!(!s.queued_for(2).contains(&"cancelled".to_string()));
}

#[tokio::test]
async fn a_repeated_cancel_is_applied_once_and_an_unknown_incident_has_nothing_to_cancel() {
    let s = Scenario::new();
    s.script(ALICE, [PlaceScript::Rings(CallOutcome::NoAnswer)]);
    s.start(3).await;
    let assigned = Cancel {
        reason: CancelReason::Assigned,
        detail: Some("Bob Agent".into()),
        by: Some("Beth Anglin".into()),
        at: T0 + 1_000,
    };
    let first = s.engine.cancel(&sys_id(3), assigned.clone()).await.unwrap();
    assert!(matches!(first, CancelResult::Cancelled { .. }));
    let again = s.engine.cancel(&sys_id(3), assigned).await.unwrap();
    assert!(
        matches!(again, CancelResult::AlreadyFinished(_)),
        "{again:?}"
    );
    assert_eq!(s.m.dialer.hung_up().len(), 1, "hung up once");
    assert_eq!(
        s.queued_for(3).iter().filter(|k| *k == "cancelled").count(),
        1
    );
    let notes = s.write_notes(3).await;
    assert!(
        notes
            .last()
            .unwrap()
            .contains("the incident was assigned to Bob Agent by Beth Anglin")
    );
    assert_eq!(
        s.engine
            .cancel(&sys_id(99), resolved_by_beth())
            .await
            .unwrap(),
        CancelResult::NoEscalation
    );
}

#[tokio::test]
async fn a_cancel_before_the_first_call_was_placed_hangs_up_nothing() {
    let s = Scenario::new();
    s.script(
        ALICE,
        [PlaceScript::Fails(
            escalation_core::ports::TelephonyErrorKind::Unavailable,
        )],
    );
    let _ = s.engine.start(incident(4)).await;
    let lowered = Cancel {
        reason: CancelReason::PriorityLowered,
        detail: Some("3".into()),
        by: None,
        at: T0,
    };
    let result = s.engine.cancel(&sys_id(4), lowered).await.unwrap();
    assert!(
        matches!(result, CancelResult::Cancelled { hung_up: None, .. }),
        "{result:?}"
    );
    s.sweep_at(3_600_000).await;
    assert!(s.m.dialer.hung_up().is_empty());
    assert_eq!(
        s.dialled(),
        Vec::<String>::new(),
        "the call is never placed"
    );
    let notes = s.write_notes(4).await;
    assert!(
        notes
            .last()
            .unwrap()
            .contains("lowered to priority 3, which does not escalate")
    );
}

#[tokio::test]
async fn a_hang_up_that_fails_leaves_the_escalation_cancelled_and_is_counted() {
    let s = Scenario::new();
    s.script(ALICE, [PlaceScript::Rings(CallOutcome::NoAnswer)]);
    s.start(5).await;
    s.m.dialer.fail_hang_ups(1);
    let result = s
        .engine
        .cancel(&sys_id(5), resolved_by_beth())
        .await
        .unwrap();
    assert!(
        matches!(result, CancelResult::Cancelled { hung_up: None, .. }),
        "{result:?}"
    );
    assert_eq!(s.esc(5).status(), Status::Cancelled);
    assert_eq!(s.metric(Metric::HangUpFailures), 1.0);
    assert_eq!(s.metric(Metric::Cancelled), 1.0);
    s.sweep_at(3_600_000).await;
    assert_eq!(s.dialled(), vec![ALICE], "nobody else is called");
}
