//! Ring-all steps: everyone of the step at once, the first accept wins, the rest is hung
//! up; passes and unanswered calls count only when every call of the step ended.

use super::steps::from_policy;
use super::*;

fn ring_of_three() -> Escalation {
    from_policy(serde_json::json!([
        {"people": ["a", "b", "m1"], "ring": "all", "redials": 0},
        {"person": "d"}]))
}

fn in_flight(e: &Escalation) -> Vec<(u32, &str)> {
    e.in_flight()
        .map(|a| (a.number, a.person.name.as_str()))
        .collect()
}

/// Place every call in flight (attempt n gets execution sid(n)).
fn place_all(e: &mut Escalation) {
    let numbers: Vec<u32> = e.in_flight().map(|a| a.number).collect();
    for n in numbers {
        e.claim_dial(n, 1_100, DIAL_LEASE_MS).unwrap();
        e.record_execution(n, &sid(n), 1_200).unwrap();
    }
}

#[test]
fn a_ring_all_step_starts_one_attempt_per_person_all_at_once() {
    let e = ring_of_three();
    assert_eq!(in_flight(&e), [(1, "A"), (2, "B"), (3, "M1")]);
    assert!(
        e.in_flight()
            .all(|a| a.phase == Phase::Dialing && a.ring == 3)
    );
    assert_eq!(e.attempts_made(), 3);
    assert_eq!(e.latest_attempt(), Some(3));
}

#[test]
fn each_call_of_the_step_has_its_own_dial_lease() {
    let mut e = ring_of_three();
    let due = |e: &Escalation| match e.dial_due(1_100, 1_100) {
        DialDue::Now(a) => Some(a.number),
        _ => None,
    };
    assert_eq!(due(&e), Some(1));
    e.claim_dial(1, 1_100, DIAL_LEASE_MS).unwrap();
    assert_eq!(due(&e), Some(2), "attempt 1 is leased, 2 is next");
    e.claim_dial(2, 1_100, DIAL_LEASE_MS).unwrap();
    e.claim_dial(3, 1_100, DIAL_LEASE_MS).unwrap();
    assert_eq!(e.dial_due(1_100, 1_100), DialDue::Leased);
    assert!(matches!(
        e.claim_dial(2, 1_200, DIAL_LEASE_MS),
        Err(Ignored::Leased { attempt: 2, .. })
    ));
    e.record_execution(2, &sid(2), 1_300).unwrap();
    assert_eq!(e.attempt(2).unwrap().phase, Phase::Calling);
    assert_eq!(e.attempt(1).unwrap().phase, Phase::Dialing);
}

#[test]
fn the_first_accept_wins_and_the_other_calls_are_hung_up() {
    let mut e = ring_of_three();
    place_all(&mut e);
    let t = e
        .on_call_ended(2, Some(&sid(2)), CallOutcome::Accepted, 9_000)
        .unwrap();
    assert_eq!(t.next, Next::Done(Status::Accepted));
    assert_eq!(e.accepted_by(), Some("B"));
    assert_eq!(t.update.assign_to.as_deref(), None, "B has no sn_user here");
    let hung: Vec<(u32, &str, &ExecutionSid)> = t
        .hang_up
        .iter()
        .map(|h| (h.attempt, h.person.as_str(), &h.execution))
        .collect();
    assert_eq!(hung, [(1, "A", &sid(1)), (3, "M1", &sid(3))]);
    assert!(
        t.update
            .work_note
            .contains("Hung up the other calls of the step: A, M1")
    );
    assert_eq!(e.in_flight().count(), 0);
    let outcomes: Vec<(u32, &CallOutcome)> =
        e.history().iter().map(|h| (h.number, &h.outcome)).collect();
    let hung_up = CallOutcome::HungUp("B".into());
    assert_eq!(
        outcomes,
        [(2, &CallOutcome::Accepted), (1, &hung_up), (3, &hung_up)]
    );
}

#[test]
fn the_losers_flow_ends_are_duplicates_and_a_late_press_finds_it_accepted() {
    let mut e = ring_of_three();
    place_all(&mut e);
    e.on_call_ended(2, Some(&sid(2)), CallOutcome::Accepted, 9_000)
        .unwrap();
    for n in [1, 3] {
        assert!(e.has_ended(&sid(n)), "attempt {n} is in the history");
        assert_eq!(
            e.on_call_ended(n, Some(&sid(n)), CallOutcome::NoAnswer, 9_500),
            Err(Ignored::Finished(Status::Accepted))
        );
    }
    assert_eq!(
        e.on_call_ended(3, Some(&sid(3)), CallOutcome::Accepted, 9_100),
        Err(Ignored::Finished(Status::Accepted)),
        "M1 pressed 1 a moment after B"
    );
    assert_eq!(e.accepted_by(), Some("B"));
}

#[test]
fn passes_and_no_answers_count_only_when_every_call_of_the_step_ended() {
    let mut e = ring_of_three();
    place_all(&mut e);
    let t = e
        .on_call_ended(1, Some(&sid(1)), CallOutcome::Passed, 5_000)
        .unwrap();
    assert_eq!(t.next, Next::Wait);
    assert!(t.update.work_note.contains("Still ringing: B, M1"));
    assert_eq!(in_flight(&e), [(2, "B"), (3, "M1")]);
    let t = e
        .on_call_ended(3, Some(&sid(3)), CallOutcome::NoAnswer, 6_000)
        .unwrap();
    assert_eq!(t.next, Next::Wait);
    assert_eq!(in_flight(&e), [(2, "B")]);
    let t = e
        .on_call_ended(2, Some(&sid(2)), CallOutcome::NoAnswer, 7_000)
        .unwrap();
    assert_eq!(t.next, Next::Dial);
    assert_eq!(in_flight(&e), [(4, "D")], "past the whole step");
    assert_eq!(e.current().unwrap().ring, 0);
}

#[test]
fn a_step_nobody_answered_is_rung_again_as_a_whole_when_it_has_redials() {
    let mut e = from_policy(serde_json::json!([
        {"people": ["a", "b"], "ring": "all", "redials": 1},
        {"person": "d"}]));
    for round in 0..2 {
        place_all(&mut e);
        let numbers: Vec<u32> = e.in_flight().map(|a| a.number).collect();
        for n in numbers {
            e.on_call_ended(n, Some(&sid(n)), CallOutcome::NoAnswer, 6_000)
                .unwrap();
        }
        if round == 0 {
            assert_eq!(in_flight(&e), [(3, "A"), (4, "B")], "the step again");
        }
    }
    assert_eq!(in_flight(&e), [(5, "D")]);
}

#[test]
fn digit_3_from_anyone_of_the_step_escalates_once_the_step_is_over() {
    let mut e = from_policy(serde_json::json!([
        {"people": ["a", "b"], "ring": "all", "redials": 0},
        {"person": "m1"},
        {"person": "d", "escalation": true}]));
    place_all(&mut e);
    let t = e
        .on_call_ended(1, Some(&sid(1)), CallOutcome::Escalated, 5_000)
        .unwrap();
    assert_eq!(t.next, Next::Wait);
    e.on_call_ended(2, Some(&sid(2)), CallOutcome::Passed, 6_000)
        .unwrap();
    assert_eq!(in_flight(&e), [(3, "D")], "M1 is skipped by the escalation");
}

#[test]
fn the_sweeper_places_a_member_of_the_step_that_was_never_placed() {
    let mut e = ring_of_three();
    for n in [1, 3] {
        e.claim_dial(n, 1_100, DIAL_LEASE_MS).unwrap();
        e.record_execution(n, &sid(n), 1_200).unwrap();
    }
    assert_eq!(e.sweep_action(20_000, 30_000), None, "within the grace");
    assert_eq!(e.sweep_action(31_000, 30_000), Some(SweepAction::Dial));
    assert!(e.has_abandoned_dial(31_000));
    match e.dial_due(31_000, 31_000) {
        DialDue::Now(a) => assert_eq!(a.number, 2),
        other => panic!("attempt 2 should be due, got {other:?}"),
    }
}

#[test]
fn a_cancel_during_a_ring_all_step_hangs_up_every_placed_call() {
    let mut e = ring_of_three();
    place_all(&mut e);
    let done = e
        .cancel(Cancel {
            reason: CancelReason::Assigned,
            detail: None,
            by: None,
            at: 8_000,
        })
        .unwrap();
    assert_eq!(done.hang_up, Some(sid(1)));
    assert_eq!(done.ringing.as_deref(), Some("A, B, M1"));
    let more: Vec<u32> = done.more.iter().map(|h| h.attempt).collect();
    assert_eq!(more, [2, 3]);
    assert_eq!(e.in_flight().count(), 0);
}

#[test]
fn people_of_a_ring_all_step_skipped_as_busy_are_retried_one_by_one() {
    let mut e = from_policy(serde_json::json!([
        {"people": ["a", "b"], "ring": "all", "redials": 0}]));
    e.on_call_ended(1, None, CallOutcome::OnAnotherCall, 2_000)
        .unwrap();
    e.on_call_ended(2, None, CallOutcome::OnAnotherCall, 2_000)
        .unwrap();
    assert_eq!(in_flight(&e), [(3, "A")], "a busy pass calls one at a time");
    assert_eq!(e.current().unwrap().ring, 0);
}
