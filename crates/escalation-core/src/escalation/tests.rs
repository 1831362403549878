//! The rules of the walk, one test per rule, named as the sentence it proves.

use super::*;
use crate::model::{
    CallOutcome, E164, EscalationId, ExecutionSid, Incident, ListKind, Person, SysId,
};
use crate::update::IncidentState;

fn sid(n: u32) -> ExecutionSid {
    ExecutionSid::parse(&format!("FN{n:032x}")).unwrap()
}

fn person(name: &str, n: u32) -> Person {
    Person {
        name: name.into(),
        phone: E164::parse(&format!("+1555010{n:04}")).unwrap(),
        role: None,
        sn_user: Some(format!("{}.user", name.to_lowercase())),
        language: None,
    }
}

fn roster(agents: &[&str], esc: &[&str]) -> Roster {
    let mut n = 0;
    let mut mk = |names: &[&str]| {
        names
            .iter()
            .map(|name| {
                n += 1;
                person(name, n)
            })
            .collect()
    };
    Roster {
        agents: mk(agents),
        escalation: mk(esc),
    }
}

fn incident() -> Incident {
    Incident {
        sys_id: SysId::parse("ef43c6d40a0a0b5700c77f9bf387afe3").unwrap(),
        number: "INC0010001".into(),
        short_description: "Database down".into(),
        priority: "1".into(),
        assignment_group: None,
        assignment_group_name: None,
    }
}

fn start_with(agents: &[&str], esc: &[&str], policy: Policy) -> Escalation {
    Escalation::start(
        EscalationId::new("esc-1"),
        incident(),
        roster(agents, esc),
        policy,
        1_000,
    )
    .0
}

fn no_redial() -> Policy {
    Policy {
        max_redials: 0,
        ..Policy::default()
    }
}

/// Who is being called now.
fn calling(e: &Escalation) -> &str {
    &e.current().expect("a call in progress").person.name
}

/// End the current call with `outcome` (matching attempt + SID) and return the transition.
fn end(e: &mut Escalation, outcome: CallOutcome) -> Transition {
    let n = e.current().unwrap().number;
    let sid = sid(n);
    e.record_execution(n, &sid, 2_000).unwrap();
    e.on_call_ended(n, Some(&sid), outcome, 5_000 + u64::from(n) * 1000)
        .unwrap()
}

#[test]
fn start_calls_first_agent_in_dialing_and_announces_the_plan() {
    let (e, update) = Escalation::start(
        EscalationId::new("esc-1"),
        incident(),
        roster(&["A", "B"], &["X"]),
        Policy::default(),
        1_000,
    );
    let a = e.current().unwrap();
    assert_eq!(
        (a.number, a.list, a.phase),
        (1, ListKind::Agents, Phase::Dialing)
    );
    assert_eq!(a.person.name, "A");
    assert_eq!(e.status(), Status::Active);
    assert_eq!(update.key, "esc-1:started");
    assert!(
        update
            .work_note
            .contains("A (+1******0001), B (+1******0002)"),
        "{}",
        update.work_note
    );
    assert!(update.work_note.contains("X (+1******0003)"));
    assert!(
        !update.work_note.contains("+15550100001"),
        "full number leaked"
    );
}

#[test]
fn digit_1_accepts_and_assigns() {
    let mut e = start_with(&["A", "B"], &["X"], Policy::default());
    let t = end(&mut e, CallOutcome::Accepted);
    assert_eq!(t.next, Next::Done(Status::Accepted));
    assert_eq!(e.status(), Status::Accepted);
    assert_eq!(e.accepted_by(), Some("A"));
    assert!(e.current().is_none());
    assert_eq!(t.update.state, Some(IncidentState::InProgress));
    assert_eq!(t.update.assign_to.as_deref(), Some("a.user"));
    assert!(
        t.update.work_note.contains("ACCEPTED by A"),
        "{}",
        t.update.work_note
    );
    assert!(t.update.work_note.contains("pressed 1"));
    assert!(t.update.work_note.contains("FN0000"));
}

#[test]
fn accept_without_sn_user_does_not_assign() {
    let mut r = roster(&["A"], &["X"]);
    r.agents[0].sn_user = None;
    let mut e = Escalation::start(
        EscalationId::new("esc-1"),
        incident(),
        r,
        Policy::default(),
        0,
    )
    .0;
    let t = end(&mut e, CallOutcome::Accepted);
    assert_eq!(t.update.assign_to, None);
    assert_eq!(t.update.state, Some(IncidentState::InProgress));
}

#[test]
fn digit_2_passes_to_next_agent_then_escalation_list() {
    let mut e = start_with(&["A", "B"], &["X", "Y"], Policy::default());
    let t = end(&mut e, CallOutcome::Passed);
    assert_eq!(t.next, Next::Dial);
    assert_eq!(calling(&e), "B");
    assert!(t.update.work_note.contains("pressed 2"));
    assert!(t.update.work_note.contains("Next: agent B"));
    end(&mut e, CallOutcome::Passed);
    assert_eq!(calling(&e), "X");
    assert_eq!(e.current().unwrap().list, ListKind::Escalation);
    end(&mut e, CallOutcome::Passed);
    assert_eq!(calling(&e), "Y");
    let t = end(&mut e, CallOutcome::Passed);
    assert_eq!(t.next, Next::Done(Status::Exhausted));
}

#[test]
fn pass_pass_accept() {
    let mut e = start_with(&["A", "B", "C"], &["X"], Policy::default());
    end(&mut e, CallOutcome::Passed);
    end(&mut e, CallOutcome::Passed);
    assert_eq!(calling(&e), "C");
    let t = end(&mut e, CallOutcome::Accepted);
    assert_eq!(t.next, Next::Done(Status::Accepted));
    assert_eq!(e.accepted_by(), Some("C"));
    assert_eq!(e.history().len(), 3);
    assert_eq!(t.update.key, "esc-1:attempt:3");
}

#[test]
fn digit_3_from_agents_jumps_to_escalation_list_skipping_remaining_agents() {
    let mut e = start_with(&["A", "B", "C"], &["X", "Y"], Policy::default());
    let t = end(&mut e, CallOutcome::Escalated);
    assert_eq!(calling(&e), "X");
    assert!(t.update.work_note.contains("pressed 3"));
    assert!(t.update.work_note.contains("Next: escalation contact X"));
}

#[test]
fn digit_3_uses_the_escalation_position_not_the_agent_position() {
    // Demo bug: escalate indexed escalation_list with the agent index (B is agent 1 → Y).
    let mut e = start_with(&["A", "B", "C"], &["X", "Y", "Z"], Policy::default());
    end(&mut e, CallOutcome::Passed); // A → B (agent position 1)
    end(&mut e, CallOutcome::Escalated); // B presses 3
    assert_eq!(
        calling(&e),
        "X",
        "escalation must start at the escalation position 0"
    );
}

#[test]
fn digit_3_within_escalation_list_moves_to_next_escalation_contact() {
    let mut e = start_with(&["A"], &["X", "Y"], Policy::default());
    end(&mut e, CallOutcome::Escalated);
    assert_eq!(calling(&e), "X");
    end(&mut e, CallOutcome::Escalated);
    assert_eq!(calling(&e), "Y");
    let t = end(&mut e, CallOutcome::Escalated);
    assert_eq!(
        t.next,
        Next::Done(Status::Exhausted),
        "end of list must finish, not crash"
    );
}

#[test]
fn stale_digit_3_from_an_old_call_is_ignored() {
    let mut e = start_with(&["A", "B"], &["X"], Policy::default());
    end(&mut e, CallOutcome::Passed); // attempt 1 done, now calling B (attempt 2)
    let before = e.clone();
    let err = e
        .on_call_ended(1, Some(&sid(1)), CallOutcome::Escalated, 9_000)
        .unwrap_err();
    assert_eq!(
        err,
        Ignored::NotCurrent {
            event_attempt: 1,
            current: Some(2)
        }
    );
    assert_eq!(e, before, "an ignored event changes nothing");
    assert_eq!(calling(&e), "B");
}

#[test]
fn event_for_a_different_execution_of_the_current_attempt_is_ignored() {
    let mut e = start_with(&["A", "B"], &["X"], Policy::default());
    e.record_execution(1, &sid(0xaaaa), 2_000).unwrap();
    let err = e
        .on_call_ended(1, Some(&sid(0xbbbb)), CallOutcome::Accepted, 3_000)
        .unwrap_err();
    assert!(matches!(err, Ignored::OtherExecution { .. }));
    assert_eq!(e.status(), Status::Active);
}

#[test]
fn event_before_sid_recorded_is_applied_and_adopts_sid() {
    let mut e = start_with(&["A"], &["X"], Policy::default());
    let t = e
        .on_call_ended(1, Some(&sid(0xfa57)), CallOutcome::Accepted, 3_000)
        .unwrap();
    assert_eq!(t.next, Next::Done(Status::Accepted));
    assert_eq!(e.history()[0].execution_sid, Some(sid(0xfa57).to_string()));
}

#[test]
fn duplicate_event_after_transition_is_ignored() {
    let mut e = start_with(&["A", "B"], &["X"], Policy::default());
    e.record_execution(1, &sid(1), 2_000).unwrap();
    e.on_call_ended(1, Some(&sid(1)), CallOutcome::Passed, 3_000)
        .unwrap();
    let again = e.on_call_ended(1, Some(&sid(1)), CallOutcome::Passed, 3_500);
    assert!(again.is_err());
    assert_eq!(calling(&e), "B");
    assert_eq!(e.history().len(), 1);
}

#[test]
fn events_after_terminal_are_ignored() {
    let mut e = start_with(&["A"], &["X"], Policy::default());
    end(&mut e, CallOutcome::Accepted);
    assert_eq!(
        e.on_call_ended(1, None, CallOutcome::Passed, 9_000)
            .unwrap_err(),
        Ignored::Finished(Status::Accepted)
    );
    assert_eq!(
        e.record_execution(2, &sid(2), 9_000).unwrap_err(),
        Ignored::Finished(Status::Accepted)
    );
}

#[test]
fn every_non_answer_outcome_redials_once_then_moves_on() {
    for outcome in [
        CallOutcome::NoAnswer,
        CallOutcome::Busy,
        CallOutcome::Failed,
        CallOutcome::Machine,
        CallOutcome::NoKeypress,
        CallOutcome::InvalidKey("7".into()),
    ] {
        let mut e = start_with(&["A", "B"], &["X"], Policy::default());
        let t = end(&mut e, outcome.clone());
        assert_eq!(
            calling(&e),
            "A",
            "{outcome:?}: first redial goes to the same person"
        );
        assert!(
            t.update.work_note.contains("Calling A again"),
            "{}",
            t.update.work_note
        );
        assert!(t.update.work_note.contains(&outcome.describe()));
        end(&mut e, outcome.clone());
        assert_eq!(
            calling(&e),
            "B",
            "{outcome:?}: after one redial, the next person"
        );
    }
}

#[test]
fn redials_are_configurable() {
    let mut e = start_with(&["A", "B"], &["X"], no_redial());
    end(&mut e, CallOutcome::NoAnswer);
    assert_eq!(calling(&e), "B");
    let mut e = start_with(
        &["A", "B"],
        &["X"],
        Policy {
            max_redials: 2,
            ..Policy::default()
        },
    );
    end(&mut e, CallOutcome::Busy);
    end(&mut e, CallOutcome::Busy);
    assert_eq!(calling(&e), "A");
    end(&mut e, CallOutcome::Busy);
    assert_eq!(calling(&e), "B");
}

#[test]
fn redial_counter_resets_for_the_next_person() {
    let mut e = start_with(&["A", "B"], &["X"], Policy::default());
    end(&mut e, CallOutcome::NoAnswer);
    end(&mut e, CallOutcome::NoAnswer);
    assert_eq!(calling(&e), "B");
    end(&mut e, CallOutcome::NoAnswer);
    assert_eq!(calling(&e), "B", "B gets their own redial");
}

#[test]
fn unreachable_number_moves_on_without_redial() {
    let mut e = start_with(&["A", "B"], &["X"], Policy::default());
    let t = end(
        &mut e,
        CallOutcome::Unreachable("Twilio 400 code 21211".into()),
    );
    assert_eq!(calling(&e), "B");
    assert!(t.update.work_note.contains("could not be dialled"));
}

#[test]
fn a_pass_after_a_redial_moves_on() {
    let mut e = start_with(&["A", "B"], &["X"], Policy::default());
    end(&mut e, CallOutcome::NoAnswer);
    end(&mut e, CallOutcome::Passed);
    assert_eq!(calling(&e), "B");
    assert_eq!(e.snapshot().cursor.redials, 0);
}

#[test]
fn nobody_answers_anywhere_exhausts_with_a_loud_note() {
    let mut e = start_with(&["A", "B"], &["X"], Policy::default());
    let mut last = None;
    let mut calls = Vec::new();
    while e.status() == Status::Active {
        calls.push(calling(&e).to_string());
        last = Some(end(&mut e, CallOutcome::NoAnswer));
    }
    assert_eq!(calls, ["A", "A", "B", "B", "X", "X"]);
    let t = last.unwrap();
    assert_eq!(t.next, Next::Done(Status::Exhausted));
    assert_eq!(e.status(), Status::Exhausted);
    assert!(
        t.update.work_note.contains("NOBODY ACCEPTED"),
        "{}",
        t.update.work_note
    );
    assert!(
        t.update.work_note.contains("6 calls to 3 people"),
        "{}",
        t.update.work_note
    );
    assert_eq!(t.update.state, None);
    assert_eq!(e.plan().len(), 6, "the dry-run plan matches the worst case");
}

#[test]
fn exhausted_reassigns_to_fallback_group_when_configured() {
    let mut e = start_with(
        &["A"],
        &["X"],
        Policy {
            max_redials: 0,
            fallback_group: Some("grp123".into()),
            ..Policy::default()
        },
    );
    end(&mut e, CallOutcome::Passed);
    let t = end(&mut e, CallOutcome::Passed);
    assert_eq!(t.update.assignment_group.as_deref(), Some("grp123"));
    assert!(t.update.work_note.contains("fallback group grp123"));
}

#[test]
fn rounds_repeat_the_whole_walk() {
    let mut e = start_with(
        &["A", "B"],
        &["X"],
        Policy {
            max_redials: 0,
            rounds: 2,
            ..Policy::default()
        },
    );
    let mut calls = Vec::new();
    while e.status() == Status::Active {
        calls.push((calling(&e).to_string(), e.current().unwrap().round));
        end(&mut e, CallOutcome::Passed);
    }
    let expect: Vec<(String, u32)> = [("A", 0), ("B", 0), ("X", 0), ("A", 1), ("B", 1), ("X", 1)]
        .iter()
        .map(|(n, r)| (n.to_string(), *r))
        .collect();
    assert_eq!(calls, expect);
    assert_eq!(e.status(), Status::Exhausted);
    assert_eq!(e.plan().len(), 6);
}

#[test]
fn single_person_lists_hit_boundaries_without_panic() {
    for outcome in [
        CallOutcome::Passed,
        CallOutcome::Escalated,
        CallOutcome::NoAnswer,
    ] {
        let mut e = start_with(&["A"], &["X"], Policy::default());
        let mut guard = 0;
        while e.status() == Status::Active {
            end(&mut e, outcome.clone());
            guard += 1;
            assert!(guard < 10);
        }
        assert_eq!(e.status(), Status::Exhausted, "{outcome:?}");
    }
}

#[test]
fn attempt_numbers_are_sequential_and_history_complete() {
    let mut e = start_with(&["A", "B"], &["X"], Policy::default());
    end(&mut e, CallOutcome::NoAnswer);
    end(&mut e, CallOutcome::Passed);
    end(&mut e, CallOutcome::Busy);
    assert_eq!(e.current().unwrap().number, 4);
    let numbers: Vec<u32> = e.history().iter().map(|h| h.number).collect();
    assert_eq!(numbers, [1, 2, 3]);
    assert_eq!(e.history()[1].outcome, CallOutcome::Passed);
    assert_eq!(e.attempts_made(), 4);
}

#[test]
fn record_execution_is_idempotent_and_rejects_a_second_sid() {
    let mut e = start_with(&["A"], &["X"], Policy::default());
    e.record_execution(1, &sid(1), 10).unwrap();
    e.record_execution(1, &sid(1), 11).unwrap();
    assert_eq!(e.current().unwrap().phase, Phase::Calling);
    assert!(matches!(
        e.record_execution(1, &sid(2), 12),
        Err(Ignored::OtherExecution { .. })
    ));
    assert!(matches!(
        e.record_execution(2, &sid(1), 12),
        Err(Ignored::NotCurrent { .. })
    ));
}

#[test]
fn an_escalation_restored_from_its_snapshot_is_the_same() {
    let mut e = start_with(&["A", "B"], &["X"], Policy::default());
    end(&mut e, CallOutcome::Machine);
    assert_eq!(Escalation::restore(e.snapshot().clone()), e);
}

#[test]
fn an_agent_on_another_call_is_skipped_at_once_and_retried_after_a_wait() {
    let mut e = start_with(&["A", "B"], &["X"], Policy::default());
    let t = end(&mut e, CallOutcome::OnAnotherCall);
    assert_eq!(calling(&e), "B", "no immediate redial of a busy person");
    assert!(
        t.update.work_note.contains("could not call agent A"),
        "{}",
        t.update.work_note
    );
    assert!(
        t.update
            .work_note
            .contains("already on another escalation call")
    );
    end(&mut e, CallOutcome::Passed); // B passes
    let t = end(&mut e, CallOutcome::Passed); // X passes: walk done, A was busy
    assert_eq!(
        t.next,
        Next::Dial,
        "not exhausted while a busy person can be retried"
    );
    assert!(
        t.update
            .work_note
            .contains("calling them again in 30 s (busy retry 1 of 3)"),
        "{}",
        t.update.work_note
    );
    let a = e.current().unwrap();
    assert_eq!(a.person.name, "A", "only the busy person is called again");
    assert_eq!(a.not_before, Some(e.updated_at() + 30_000));
    let t = end(&mut e, CallOutcome::Accepted);
    assert_eq!(t.next, Next::Done(Status::Accepted));
    assert_eq!(e.accepted_by(), Some("A"));
}

#[test]
fn busy_retries_are_bounded_then_exhausted() {
    let mut e = start_with(
        &["A"],
        &["X"],
        Policy {
            max_busy_retries: 2,
            ..Policy::default()
        },
    );
    let mut guard = 0;
    while e.status() == Status::Active {
        end(&mut e, CallOutcome::OnAnotherCall);
        guard += 1;
        assert!(guard < 20);
    }
    assert_eq!(e.status(), Status::Exhausted);
    // 2 people, then 2 busy passes over both: 6 attempts, never a redial in between.
    assert_eq!(e.history().len(), 6);
    assert_eq!(e.snapshot().busy_retries, 2);
}

#[test]
fn a_busy_person_who_then_passes_is_not_retried_again() {
    let mut e = start_with(&["A", "B"], &["X"], Policy::default());
    end(&mut e, CallOutcome::Passed); // A
    end(&mut e, CallOutcome::OnAnotherCall); // B busy
    end(&mut e, CallOutcome::NoAnswer); // X
    end(&mut e, CallOutcome::NoAnswer); // X redial
    assert_eq!(calling(&e), "B");
    let t = end(&mut e, CallOutcome::Passed);
    assert_eq!(
        t.next,
        Next::Done(Status::Exhausted),
        "A, who passed, is not called again"
    );
}

#[test]
fn sweep_actions() {
    let mut e = start_with(&["A", "B"], &["X"], Policy::default());
    let started = e.current().unwrap().started_at;
    assert_eq!(
        e.sweep_action(started + 1_000, 30_000),
        None,
        "fresh DIALING is left to the normal path"
    );
    assert_eq!(
        e.sweep_action(started + 30_000, 30_000),
        Some(SweepAction::Dial)
    );
    e.record_execution(1, &sid(1), started + 100).unwrap();
    assert_eq!(
        e.sweep_action(started + 59_000, 30_000),
        None,
        "still within ring timeout + grace"
    );
    assert_eq!(
        e.sweep_action(started + 61_000, 30_000),
        Some(SweepAction::CheckExecution {
            sid: sid(1),
            overdue_ms: 1_000
        })
    );
    e.on_call_ended(1, Some(&sid(1)), CallOutcome::Accepted, started + 5_000)
        .unwrap();
    assert_eq!(
        e.sweep_action(started + 999_000, 30_000),
        None,
        "terminal escalations are never swept"
    );
}

#[test]
fn a_waiting_attempt_is_swept_when_its_wait_is_over() {
    let mut e = start_with(&["A"], &["X"], Policy::default());
    end(&mut e, CallOutcome::OnAnotherCall);
    end(&mut e, CallOutcome::Passed);
    let nb = e.current().unwrap().not_before.unwrap();
    assert_eq!(e.sweep_action(nb - 1, 0), None);
    assert_eq!(e.sweep_action(nb, 0), Some(SweepAction::Dial));
}

#[test]
fn only_one_dialer_wins_the_lease_on_an_attempt() {
    let e = start_with(&["A", "B"], &["X"], Policy::default());
    let t0 = e.current().unwrap().started_at;
    // Two dialers load the same version; the first claim is saved, the second dialer's
    // conditional write fails, it reloads and finds the lease.
    let mut first = e.clone();
    first.claim_dial(1, t0 + 10, 30_000).unwrap();
    let mut second = first.clone();
    assert_eq!(
        second.claim_dial(1, t0 + 20, 30_000),
        Err(Ignored::Leased {
            attempt: 1,
            until: t0 + 30_010
        })
    );
    assert!(first.current().unwrap().is_leased(t0 + 30_009));
    assert!(!first.current().unwrap().is_leased(t0 + 30_010));
    assert_eq!(first.current().unwrap().dial_claims, 1);
    // An expired lease (its holder died) can be taken over; the count says someone tried
    // before, so the new holder looks for a call the dead one may have placed.
    second.claim_dial(1, t0 + 30_010, 30_000).unwrap();
    assert_eq!(
        second.current().unwrap().dial_lease_until,
        Some(t0 + 60_010)
    );
    assert_eq!(second.current().unwrap().dial_claims, 2);
}

#[test]
fn a_placed_or_stale_attempt_cannot_be_claimed() {
    let mut e = start_with(&["A", "B"], &["X"], Policy::default());
    let t0 = e.current().unwrap().started_at;
    assert_eq!(
        e.clone().claim_dial(2, t0, 1_000),
        Err(Ignored::NotCurrent {
            event_attempt: 2,
            current: Some(1)
        })
    );
    e.claim_dial(1, t0, 1_000).unwrap();
    e.record_execution(1, &sid(1), t0 + 5).unwrap();
    assert_eq!(
        e.current().unwrap().dial_lease_until,
        None,
        "the lease ends with the call placed"
    );
    assert_eq!(
        e.clone().claim_dial(1, t0 + 10, 1_000),
        Err(Ignored::NotDialing { attempt: 1 })
    );
    e.on_call_ended(1, Some(&sid(1)), CallOutcome::Accepted, t0 + 20)
        .unwrap();
    assert_eq!(
        e.claim_dial(1, t0 + 30, 1_000),
        Err(Ignored::Finished(Status::Accepted))
    );
}

#[test]
fn a_released_lease_frees_the_attempt_but_only_the_holder_releases() {
    let mut e = start_with(&["A"], &["X"], Policy::default());
    let t0 = e.current().unwrap().started_at;
    e.claim_dial(1, t0, 30_000).unwrap();
    assert!(!e.release_dial(1, t0 + 1), "not our lease");
    assert!(e.current().unwrap().is_leased(t0 + 1));
    assert!(e.release_dial(1, t0 + 30_000));
    e.claim_dial(1, t0 + 2, 30_000).unwrap();
    assert_eq!(
        e.current().unwrap().dial_claims,
        2,
        "a released claim still counts: its create may have reached Twilio"
    );
}

#[test]
fn the_sweeper_never_dials_under_a_running_lease() {
    let mut e = start_with(&["A", "B"], &["X"], Policy::default());
    let t0 = e.current().unwrap().started_at;
    // The trigger waited for the Twilio rate limit, then claimed late: the grace period is
    // over, but the claim is fresh, so the sweeper keeps away until it expires.
    e.claim_dial(1, t0 + 29_000, 30_000).unwrap();
    assert_eq!(e.sweep_action(t0 + 30_000, 30_000), None);
    assert_eq!(e.sweep_action(t0 + 58_999, 30_000), None);
    assert_eq!(e.sweep_action(t0 + 59_000, 30_000), Some(SweepAction::Dial));
}
