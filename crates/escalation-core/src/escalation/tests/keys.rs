use super::*;

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
