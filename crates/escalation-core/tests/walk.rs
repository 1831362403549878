//! Who is called, in which order, and what the incident says about it: the walk driven
//! through the engine (start, then each call's flow-end event), with the notes written by
//! the updater.

mod support;

use escalation_core::escalation::Status;
use escalation_core::model::{CallOutcome, ListKind};
use escalation_core::testing::PlaceScript;
use escalation_core::update::IncidentState;
use escalation_core::usecase::{EventOutcome, Settings};
use support::*;

#[tokio::test]
async fn the_first_agent_who_presses_1_takes_the_incident() {
    let s = Scenario::new();
    s.script(ALICE, [press("1")]);
    let (stored, new) = s.start(1).await;
    assert!(new);
    assert_eq!(s.calling(1), "Alice Agent");
    let call = &s.m.dialer.placed()[0].call;
    assert_eq!(
        (call.incident.number.as_str(), call.attempt),
        ("INC0010001", 1)
    );
    assert_eq!(call.escalation_id, *stored.escalation.id());
    s.settle().await;

    assert_eq!(s.dialled(), [ALICE]);
    let esc = s.esc(1);
    assert_eq!(esc.status(), Status::Accepted);
    assert_eq!(esc.accepted_by(), Some("Alice Agent"));
    let notes = s.write_notes(1).await;
    assert_eq!(notes.len(), 2, "{notes:#?}");
    assert!(notes[0].contains("Phone escalation started for priority 1"));
    assert!(notes[1].contains("Attempt 1: called agent Alice Agent (+1******0001)"));
    assert!(notes[1].contains("ACCEPTED by Alice Agent"));
    assert!(notes[1].contains(s.call(0).as_str()), "names the call");
    assert!(notes.iter().all(|n| !n.contains(ALICE)), "no full numbers");
    let accept = s.m.servicenow.patches().pop().unwrap().patch;
    assert_eq!(accept.state, Some(IncidentState::InProgress));
    assert_eq!(accept.assigned_to, Some(user_sys_id("alice.agent")));
}

#[tokio::test]
async fn two_passes_then_an_accept_assign_the_third_agent() {
    let s = Scenario::with(ROSTER_WITH_DAN, Settings::default());
    s.script(ALICE, [press("2")]);
    s.script(BOB, [press("2")]);
    s.script(DAN, [press("1")]);
    s.start(2).await;
    s.settle().await;

    assert_eq!(s.dialled(), [ALICE, BOB, DAN]);
    assert_eq!(s.esc(2).accepted_by(), Some("Dan Agent"));
    let notes = s.write_notes(2).await;
    assert_eq!(notes.len(), 4, "started + one per call: {notes:#?}");
    assert!(notes[1].contains("Attempt 1") && notes[1].contains("pressed 2"));
    assert!(notes[1].contains("Next: agent Bob Agent"));
    assert!(notes[2].contains("Attempt 2") && notes[2].contains("Bob Agent"));
    assert!(notes[3].contains("Attempt 3") && notes[3].contains("ACCEPTED by Dan Agent"));
    let accept = s.m.servicenow.patches().pop().unwrap().patch;
    assert_eq!(accept.assigned_to, Some(user_sys_id("dan.agent")));
}

#[tokio::test]
async fn digit_3_skips_the_other_agents_for_the_escalation_list() {
    let s = Scenario::new();
    s.script(ALICE, [press("3")]);
    s.script(CAROL, [press("1")]);
    s.start(3).await;
    s.settle().await;

    assert_eq!(s.dialled(), [ALICE, CAROL], "Bob is skipped after 3");
    let esc = s.esc(3);
    assert_eq!(esc.accepted_by(), Some("Carol Manager"));
    assert_eq!(esc.history()[0].outcome, CallOutcome::Escalated);
    assert_eq!(esc.history()[1].list, ListKind::Escalation);
    let notes = s.write_notes(3).await;
    assert!(notes[1].contains("pressed 3 (escalate)"), "{}", notes[1]);
    assert!(notes[1].contains("Next: escalation contact Carol Manager"));
    let accept = s.m.servicenow.patches().pop().unwrap().patch;
    assert_eq!(accept.assigned_to, Some(user_sys_id("carol.manager")));
}

#[tokio::test]
async fn when_nobody_answers_everyone_is_called_twice_and_the_incident_says_so() {
    let s = Scenario::new();
    s.start(4).await; // unscripted calls go unanswered
    s.settle().await;

    assert_eq!(
        s.dialled(),
        [ALICE, ALICE, BOB, BOB, CAROL, CAROL],
        "one redial each, then the next"
    );
    assert_eq!(s.esc(4).status(), Status::Exhausted);
    assert!(s.esc(4).current().is_none());
    let notes = s.write_notes(4).await;
    assert_eq!(notes.len(), 7, "{notes:#?}");
    assert!(notes[1].contains("Calling Alice Agent again (redial 1)"));
    assert!(notes[6].contains("NOBODY ACCEPTED: 6 calls to 3 people over 1 round(s)"));
    assert!(notes[6].contains("Please assign this incident by hand"));
    let last = s.m.servicenow.patches().pop().unwrap().patch;
    assert_eq!((last.state, last.assigned_to), (None, None));
    assert_eq!(last.assignment_group, None);
}

#[tokio::test]
async fn an_exhausted_escalation_hands_the_incident_to_the_fallback_group() {
    let group = "0123456789abcdef0123456789abcdef";
    let s = Scenario::with_policy(|p| {
        p.max_redials = 0;
        p.fallback_group = Some(group.into());
    });
    s.start(5).await;
    s.settle().await;

    assert_eq!(s.dialled(), [ALICE, BOB, CAROL]);
    let notes = s.write_notes(5).await;
    assert!(notes[3].contains(&format!("Reassigned to fallback group {group}")));
    let last = s.m.servicenow.patches().pop().unwrap().patch;
    assert_eq!(last.assignment_group.as_deref(), Some(group));
}

#[tokio::test]
async fn a_machine_a_busy_line_and_a_silent_answer_are_redialled_once_then_passed() {
    let s = Scenario::new();
    s.script(ALICE, [ends(CallOutcome::Machine), ends(CallOutcome::Busy)]);
    s.script(BOB, [ends(CallOutcome::NoKeypress), press("1")]);
    s.start(6).await;
    s.settle().await;

    assert_eq!(s.dialled(), [ALICE, ALICE, BOB, BOB]);
    let outcomes: Vec<_> = s
        .esc(6)
        .history()
        .iter()
        .map(|h| h.outcome.clone())
        .collect();
    assert_eq!(
        outcomes,
        [
            CallOutcome::Machine,
            CallOutcome::Busy,
            CallOutcome::NoKeypress,
            CallOutcome::Accepted
        ]
    );
}

#[tokio::test]
async fn a_key_that_means_nothing_is_redialled_like_no_answer() {
    let s = Scenario::new();
    s.script(ALICE, [press("9"), press("1")]);
    s.start(7).await;
    s.settle().await;

    assert_eq!(s.dialled(), [ALICE, ALICE]);
    assert_eq!(s.esc(7).accepted_by(), Some("Alice Agent"));
    let notes = s.write_notes(7).await;
    assert!(
        notes[1].contains(r#"pressed "9", which is not an option"#),
        "{}",
        notes[1]
    );
}

#[tokio::test]
async fn a_number_that_cannot_be_called_is_noted_and_the_next_person_called_at_once() {
    let s = Scenario::new();
    s.script(
        ALICE,
        [PlaceScript::Unreachable("invalid 'To' number".into())],
    );
    s.script(BOB, [press("1")]);
    let (stored, _) = s.start(8).await;

    assert_eq!(
        s.dialled(),
        [BOB],
        "no redial of a number that cannot be called"
    );
    assert_eq!(
        stored.escalation.current().unwrap().person.name,
        "Bob Agent"
    );
    s.settle().await;
    assert_eq!(s.esc(8).accepted_by(), Some("Bob Agent"));
    let notes = s.write_notes(8).await;
    assert!(
        notes[1].contains("Attempt 1: could not call agent Alice Agent (+1******0001)"),
        "{}",
        notes[1]
    );
    assert!(notes[1].contains("could not be dialled (invalid 'To' number)"));
    assert!(notes[1].contains("Twilio execution none"));
}

#[tokio::test]
async fn nobody_reachable_at_all_exhausts_without_placing_a_call() {
    let s = Scenario::new();
    for n in [ALICE, BOB, CAROL] {
        s.script(n, [PlaceScript::Unreachable("invalid".into())]);
    }
    let (stored, _) = s.start(9).await;
    assert!(s.dialled().is_empty());
    assert_eq!(stored.escalation.status(), Status::Exhausted);
    assert_eq!(s.esc(9).status(), Status::Exhausted);
    assert_eq!(s.queued_for(9).len(), 4, "started + 3 attempts");
}

#[tokio::test]
async fn an_agent_on_another_escalations_call_is_skipped_then_called_after_the_busy_wait() {
    let s = Scenario::with_policy(|p| {
        p.max_redials = 0;
        p.busy_retry_secs = 10; // shorter than the sweeper's grace period
    });
    s.script(
        ALICE,
        [PlaceScript::Rings(CallOutcome::Accepted), press("1")],
    );
    s.script(BOB, [press("2")]);
    s.script(CAROL, [press("2")]);
    // Incident 1 holds Alice on the phone.
    s.start(1).await;
    // Incident 2 finds her on that call: Bob is called at once, then Carol.
    s.start(2).await;
    s.settle().await;
    assert_eq!(s.dialled(), [ALICE, BOB, CAROL]);
    let two = s.esc(2);
    assert_eq!(two.history()[0].outcome, CallOutcome::OnAnotherCall);
    assert_eq!(
        two.status(),
        Status::Active,
        "not exhausted while Alice may free up"
    );
    let waiting = two.current().unwrap();
    assert_eq!(waiting.person.name, "Alice Agent");
    assert_eq!(
        waiting.not_before,
        Some(escalation_core::testing::T0 + secs(10))
    );

    // Alice accepts incident 1 and hangs up; nothing is dialled before the wait is over.
    s.m.dialer.finish(&s.call(0));
    s.settle().await;
    assert_eq!(s.esc(1).status(), Status::Accepted);
    assert_eq!(s.sweep_at(secs(9)).await.dialled, 0);
    let report = s.sweep_at(secs(11)).await;
    assert_eq!(report.dialled, 1, "{report:?}");
    assert_eq!(s.dialled_for(2), [BOB, CAROL, ALICE]);
    s.settle().await;
    assert_eq!(s.esc(2).accepted_by(), Some("Alice Agent"));

    let notes = s.write_notes(2).await;
    assert!(notes[1].contains("could not call agent Alice Agent"));
    assert!(notes[1].contains("already on another escalation call"));
    assert!(
        notes[3].contains(
            "1 of the people to call was on other escalation calls; calling them again in 10 s (busy retry 1 of 3)"
        ),
        "{notes:#?}"
    );
}

#[tokio::test]
async fn rounds_repeat_the_whole_walk() {
    let s = Scenario::with_policy(|p| {
        p.max_redials = 0;
        p.rounds = 2;
    });
    s.start(10).await;
    s.settle().await;
    assert_eq!(s.dialled(), [ALICE, BOB, CAROL, ALICE, BOB, CAROL]);
    assert_eq!(s.esc(10).status(), Status::Exhausted);
}

#[tokio::test]
async fn a_stale_digit_3_does_not_jump_the_list() {
    let roster = r#"{"agent_list":[{"name":"Alice Agent","phone_no":"+15550100001"},{"name":"Bob Agent","phone_no":"+15550100002"}],
      "escalation_list":[{"name":"Carol Manager","phone_no":"+15550100003"},{"name":"Dan Director","phone_no":"+15550100004"}]}"#;
    let s = Scenario::with(roster, Settings::default());
    s.script(ALICE, [press("3")]);
    s.script(CAROL, [PlaceScript::Rings(CallOutcome::Accepted)]);
    s.start(11).await;
    s.settle().await;
    assert_eq!(s.dialled(), [ALICE, CAROL]);

    // Alice's "3" arrives again under another event id (as a replayed stream would
    // deliver it), while Carol's phone rings: the end of her call is already applied.
    let stale = s
        .engine
        .on_flow_ended("EZreplayed", s.call(0).as_str())
        .await
        .unwrap();
    assert_eq!(stale, EventOutcome::Duplicate);
    assert_eq!(s.dialled(), [ALICE, CAROL], "Dan is not called");
    assert_eq!(s.calling(11), "Carol Manager");
    assert_eq!(s.esc(11).history().len(), 1);
    s.m.dialer.finish(&s.call(1));
    s.settle().await;
    assert_eq!(s.esc(11).accepted_by(), Some("Carol Manager"));
}
