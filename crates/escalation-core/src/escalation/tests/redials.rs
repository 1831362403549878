use super::*;

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
