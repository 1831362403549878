//! The end of a call, as the flow-end event brings it: applied once per event, in any
//! order, whatever else is delivered alongside; a failure leaves the event to be retried
//! and loses nothing.

mod support;

use escalation_core::escalation::{Escalation, Phase, Status};
use escalation_core::model::{CallOutcome, EscalationId, ExecutionSid};
use escalation_core::ports::{Metric, TelephonyErrorKind};
use escalation_core::testing::PlaceScript;
use escalation_core::usecase::{EngineError, EventOutcome, EventResult};
use support::*;

fn ignored(outcome: &EventOutcome) -> Option<&str> {
    match outcome {
        EventOutcome::Applied(EventResult::Ignored(why)) => Some(why),
        _ => None,
    }
}

#[tokio::test]
async fn duplicate_and_out_of_order_events_move_the_walk_once() {
    let s = Scenario::new();
    s.script(ALICE, [press("2")]);
    s.script(BOB, [PlaceScript::Rings(CallOutcome::Accepted)]);
    s.start(1).await;
    let e1 = s.call(0);

    // Delivered twice in one batch.
    assert!(matches!(s.deliver(&e1).await, EventOutcome::Applied(_)));
    assert_eq!(s.deliver(&e1).await, EventOutcome::Duplicate);
    assert_eq!(s.dialled(), [ALICE, BOB]);

    let e2 = s.call(1);
    s.m.dialer.finish(&e2);
    // New, old (stale), new again, old again; then the whole history once more.
    for sid in [&e2, &e1, &e2, &e1, &e1, &e2] {
        s.deliver(sid).await;
    }

    assert_eq!(s.dialled(), [ALICE, BOB], "no call placed twice");
    let esc = s.esc(1);
    assert_eq!(esc.status(), Status::Accepted);
    assert_eq!(esc.history().len(), 2);
    let notes = s.write_notes(1).await;
    assert_eq!(notes.len(), 3, "started + 2 calls, each once: {notes:#?}");
    let accept = s.m.servicenow.patches().pop().unwrap().patch;
    assert_eq!(accept.assigned_to, Some(user_sys_id("bob.agent")));
}

/// The escalation is the record of what was applied: a redelivered event finds its call in
/// the history, and no mark of its own is read or written for it.
#[tokio::test]
async fn a_redelivered_event_is_known_by_the_escalation_and_no_mark_is_written() {
    let s = Scenario::new();
    s.script(ALICE, [press("2")]);
    s.script(BOB, [PlaceScript::Rings(CallOutcome::Accepted)]);
    s.start(2).await;
    let e1 = s.call(0);
    // Any read or write of a mark would fail now.
    s.m.marks.fail(usize::MAX);
    assert!(matches!(s.deliver(&e1).await, EventOutcome::Applied(_)));

    assert_eq!(s.deliver(&e1).await, EventOutcome::Duplicate);
    assert_eq!(s.dialled(), [ALICE, BOB]);
    assert_eq!(s.calling(2), "Bob Agent");
    assert_eq!(s.queued_for(2), ["started", "attempt:1"]);
}

/// Every event delivered three times, each time with the earlier ones replayed around it.
async fn deliver_chaotically(s: &Scenario) {
    let mut seen: Vec<ExecutionSid> = Vec::new();
    loop {
        let fresh: Vec<_> =
            s.m.dialer
                .placed()
                .into_iter()
                .filter(|p| !p.active && !seen.contains(&p.sid))
                .map(|p| p.sid)
                .collect();
        if fresh.is_empty() {
            return;
        }
        for sid in fresh {
            s.deliver(&sid).await;
            for old in seen.iter().rev() {
                s.deliver(old).await;
            }
            s.deliver(&sid).await;
            seen.insert(0, sid.clone());
            s.deliver(&sid).await;
        }
    }
}

#[tokio::test]
async fn every_event_delivered_three_times_among_stale_ones_gives_the_same_outcome() {
    let walks = [
        (
            vec![(ALICE, press("2")), (BOB, press("1"))],
            vec![ALICE, BOB],
            Status::Accepted,
        ),
        (
            vec![(ALICE, press("3")), (CAROL, press("1"))],
            vec![ALICE, CAROL],
            Status::Accepted,
        ),
        (
            vec![
                (ALICE, ends(CallOutcome::NoAnswer)),
                (BOB, ends(CallOutcome::Busy)),
                (CAROL, ends(CallOutcome::Machine)),
            ],
            vec![ALICE, ALICE, BOB, BOB, CAROL, CAROL],
            Status::Exhausted,
        ),
    ];
    for (steps, calls, status) in walks {
        let s = Scenario::new();
        for (number, step) in steps {
            s.script(number, [step]);
        }
        s.start(3).await;
        deliver_chaotically(&s).await;
        assert_eq!(s.dialled(), calls, "no call placed twice");
        assert_eq!(s.esc(3).status(), status);
        let notes = s.write_notes(3).await;
        assert_eq!(
            notes.len(),
            1 + calls.len(),
            "one note per call, none twice: {notes:#?}"
        );
    }
}

#[tokio::test]
async fn an_event_for_a_call_of_an_earlier_escalation_of_the_incident_is_ignored() {
    let s = Scenario::new();
    s.script(ALICE, [PlaceScript::Rings(CallOutcome::Passed)]);
    s.start(4).await;
    // The incident is escalated anew (the earlier escalation's record is gone).
    let (newer, _) = Escalation::start(
        EscalationId::new("ESC-0000000000b2"),
        incident(4),
        s.m.roster.clone(),
        s.engine.settings().policy.clone(),
        s.m.now(),
    );
    s.m.repo.put(newer.clone(), 7);
    s.m.dialer.finish(&s.call(0));

    let outcome = s.deliver(&s.call(0)).await;
    assert!(
        ignored(&outcome).is_some_and(|w| w.contains("belongs to escalation")),
        "{outcome:?}"
    );
    assert_eq!(s.esc(4), newer, "the newer escalation is untouched");
    assert_eq!(s.dialled(), [ALICE], "nobody called for the old walk");
}

#[tokio::test]
async fn a_call_not_started_by_us_is_ignored() {
    let s = Scenario::new();
    s.script(ALICE, [PlaceScript::Rings(CallOutcome::Passed)]);
    s.start(5).await;
    let console = s.m.dialer.foreign_call(CallOutcome::Accepted);

    let outcome = s.deliver(&console).await;
    assert!(
        ignored(&outcome).is_some_and(|w| w.contains("not started by us")),
        "{outcome:?}"
    );
    assert_eq!(s.esc(5).status(), Status::Active);
    assert_eq!(s.calling(5), "Alice Agent");
    assert_eq!(s.dialled(), [ALICE]);
}

#[tokio::test]
async fn an_event_for_a_call_the_telephony_side_does_not_know_is_ignored() {
    let s = Scenario::new();
    let unknown = ExecutionSid::parse("FN0123456789abcdef0123456789abcdef").unwrap();
    let outcome = s.deliver(&unknown).await;
    assert!(
        ignored(&outcome).is_some_and(|w| w.contains("not found")),
        "{outcome:?}"
    );
    assert_eq!(
        s.deliver(&unknown).await,
        outcome,
        "ignored again, nothing changed"
    );
}

#[tokio::test]
async fn an_event_naming_no_valid_call_is_refused_before_the_telephony_side_is_asked() {
    let s = Scenario::new();
    let result = s.engine.on_flow_ended("EZbad", "FN../../Accounts").await;
    assert!(
        matches!(&result, Err(EngineError::Telephony(e)) if e.kind == TelephonyErrorKind::Rejected),
        "{result:?}"
    );
    assert_eq!(s.metric(Metric::TwilioErrors), 1.0);
}

#[tokio::test]
async fn a_transient_telephony_failure_leaves_the_event_to_be_retried() {
    let s = Scenario::new();
    s.script(ALICE, [press("2")]);
    s.script(BOB, [press("1")]);
    s.start(6).await;
    let e1 = s.call(0);
    s.m.dialer.fail_reports(1);

    let failed = s.engine.on_flow_ended(&event_id(&e1), e1.as_str()).await;
    assert!(
        matches!(failed, Err(EngineError::Telephony(_))),
        "{failed:?}"
    );
    assert_eq!(
        s.dialled(),
        [ALICE],
        "nothing moved while the telephony side was down"
    );
    assert_eq!(s.metric(Metric::TwilioErrors), 1.0);

    assert!(matches!(
        s.deliver(&e1).await,
        EventOutcome::Applied(EventResult::Applied { .. })
    ));
    assert_eq!(
        s.dialled(),
        [ALICE, BOB],
        "the redelivered event moved the walk on"
    );
}

#[tokio::test]
async fn a_next_call_that_fails_to_be_placed_gives_its_lease_back_for_the_redelivered_event() {
    let s = Scenario::new();
    s.script(ALICE, [press("2")]);
    s.script(
        BOB,
        [
            PlaceScript::Fails(TelephonyErrorKind::Unavailable),
            press("1"),
        ],
    );
    s.start(7).await;
    let e1 = s.call(0);

    let failed = s.engine.on_flow_ended(&event_id(&e1), e1.as_str()).await;
    assert!(
        matches!(failed, Err(EngineError::Telephony(_))),
        "{failed:?}"
    );
    let bob = s.esc(7).current().unwrap().clone();
    assert_eq!(
        (bob.person.name.as_str(), bob.phase),
        ("Bob Agent", Phase::Dialing)
    );
    assert_eq!(bob.dial_lease_until, None, "the lease was given back");
    assert_eq!(s.metric(Metric::TwilioErrors), 1.0);

    // Redelivered a few seconds later, well within what the lease would have been.
    s.m.clock.advance(secs(3));
    s.deliver(&e1).await;
    assert_eq!(s.dialled(), [ALICE, BOB]);
    s.settle().await;
    assert_eq!(s.esc(7).accepted_by(), Some("Bob Agent"));
}

#[tokio::test]
async fn a_transition_that_loses_the_race_to_save_is_applied_again_on_the_latest_state() {
    let s = Scenario::new();
    s.script(ALICE, [press("2")]);
    s.script(BOB, [press("1")]);
    s.start(8).await;
    s.m.repo.conflict_saves(2);

    s.deliver(&s.call(0)).await;
    assert_eq!(s.dialled(), [ALICE, BOB]);
    let key = format!("{}:attempt:1", s.esc(8).id());
    let copies = s.m.outbox.all().iter().filter(|u| u.key == key).count();
    assert_eq!(copies, 3, "queued before each try to save, under one key");
    s.settle().await;
    let notes = s.write_notes(8).await;
    assert_eq!(notes.len(), 3, "each note written once: {notes:#?}");
}

#[tokio::test]
async fn an_escalation_that_keeps_changing_under_us_leaves_the_event_for_later() {
    let s = Scenario::new();
    s.script(ALICE, [press("2")]);
    s.start(9).await;
    let e1 = s.call(0);
    s.m.repo.conflict_saves(5);

    let result = s.engine.on_flow_ended(&event_id(&e1), e1.as_str()).await;
    assert!(matches!(result, Err(EngineError::Contention)), "{result:?}");
    assert_eq!(s.esc(9).history().len(), 0);
    s.deliver(&e1).await;
    assert_eq!(s.dialled(), [ALICE, BOB]);
}

#[tokio::test]
async fn a_note_queued_before_a_failed_save_is_queued_again_under_its_key_and_written_once() {
    let s = Scenario::new();
    s.script(ALICE, [press("2")]);
    s.script(BOB, [press("1")]);
    s.start(10).await;
    let e1 = s.call(0);
    s.m.repo.fail_saves(1);

    let result = s.engine.on_flow_ended(&event_id(&e1), e1.as_str()).await;
    assert!(matches!(result, Err(EngineError::Repo(_))), "{result:?}");
    assert_eq!(s.calling(10), "Alice Agent", "nothing saved");
    assert_eq!(s.dialled(), [ALICE]);

    s.deliver(&e1).await;
    s.settle().await;
    assert_eq!(s.esc(10).accepted_by(), Some("Bob Agent"));
    let key = format!("{}:attempt:1", s.esc(10).id());
    assert_eq!(s.m.outbox.all().iter().filter(|u| u.key == key).count(), 2);
    let notes = s.write_notes(10).await;
    assert_eq!(notes.len(), 3, "{notes:#?}");
}

#[tokio::test]
async fn when_the_update_queue_is_down_nothing_is_saved_and_the_retry_queues_the_same_update() {
    let s = Scenario::new();
    s.script(ALICE, [press("2")]);
    s.script(BOB, [press("1")]);
    s.start(11).await;
    let e1 = s.call(0);
    let before = s.m.repo.saves();
    s.m.outbox.fail(1);

    let result = s.engine.on_flow_ended(&event_id(&e1), e1.as_str()).await;
    assert!(matches!(result, Err(EngineError::Outbox(_))), "{result:?}");
    assert_eq!(s.m.repo.saves(), before, "nothing saved");
    assert_eq!(s.calling(11), "Alice Agent");
    assert_eq!(s.queued_for(11), ["started"]);

    s.deliver(&e1).await;
    assert_eq!(s.queued_for(11), ["started", "attempt:1", "attempt:2"][..2]);
    assert_eq!(s.dialled(), [ALICE, BOB]);
    s.settle().await;
    assert_eq!(s.queued_for(11), ["started", "attempt:1", "attempt:2"]);
    assert_eq!(s.write_notes(11).await.len(), 3);
}
