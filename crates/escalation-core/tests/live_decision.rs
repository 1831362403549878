//! A key pressed during the call is applied at once, through the same rules as the end of
//! the call: the first accept wins, the person hears whether the incident is theirs, the
//! assignment is queued before the call ends, and the call's flow-end event afterwards is a
//! duplicate (one outcome, one assignment).

mod support;

use escalation_core::escalation::Status;
use escalation_core::model::{CallOutcome, DeclineReason, ExecutionSid};
use escalation_core::testing::PlaceScript;
use escalation_core::usecase::{Choice, DecisionReply, EventOutcome, LiveDecision, Verdict};
use support::*;

fn decision(s: &Scenario, attempt: u32, sid: &ExecutionSid, choice: Choice) -> LiveDecision {
    LiveDecision {
        incident: sys_id(1),
        escalation_id: s.esc(1).id().clone(),
        attempt,
        execution: Some(sid.clone()),
        choice,
    }
}

async fn decide(s: &Scenario, d: &LiveDecision) -> DecisionReply {
    s.engine
        .on_live_decision(d)
        .await
        .expect("applied")
        .expect("the escalation exists")
}

/// The assignments queued for incident 1 (updates that assign someone).
fn assignments(s: &Scenario) -> Vec<String> {
    s.m.outbox
        .unique()
        .into_iter()
        .filter_map(|u| u.assign_to)
        .collect()
}

#[tokio::test]
async fn a_press_during_the_call_assigns_at_once_and_the_flow_end_changes_nothing() {
    let s = Scenario::new();
    s.script(ALICE, [PlaceScript::Rings(CallOutcome::Accepted)]);
    s.start(1).await;
    let alice = s.call(0);

    let reply = decide(&s, &decision(&s, 1, &alice, Choice::Accept)).await;
    assert_eq!(reply.verdict, Verdict::Assigned);
    assert_eq!(reply.say, "You are assigned incident I N C, 0 0 1 0 0 0 1.");
    assert_eq!(s.esc(1).status(), Status::Accepted);
    assert_eq!(
        assignments(&s),
        ["alice.agent"],
        "queued while the call goes on"
    );

    s.m.dialer.finish(&alice);
    assert_eq!(s.deliver(&alice).await, EventOutcome::Duplicate);
    s.settle().await;
    assert_eq!(assignments(&s), ["alice.agent"], "one assignment");
    assert_eq!(s.esc(1).history().len(), 1, "one outcome");
    assert_eq!(s.dialled(), [ALICE]);
    let notes = s.write_notes(1).await;
    assert_eq!(
        notes
            .iter()
            .filter(|n| n.contains("ACCEPTED by Alice Agent"))
            .count(),
        1
    );
}

#[tokio::test]
async fn concurrent_presses_of_one_call_assign_once_and_both_hear_assigned() {
    let s = Scenario::new();
    s.script(ALICE, [PlaceScript::Rings(CallOutcome::Accepted)]);
    s.start(1).await;
    let d = decision(&s, 1, &s.call(0), Choice::Accept);

    let (a, b) = tokio::join!(decide(&s, &d), decide(&s, &d));
    assert_eq!(
        (a.verdict, b.verdict),
        (Verdict::Assigned, Verdict::Assigned)
    );
    assert_eq!(assignments(&s), ["alice.agent"]);
    assert_eq!(s.esc(1).history().len(), 1);
}

#[tokio::test]
async fn a_late_press_of_an_earlier_call_hears_who_accepted() {
    let s = Scenario::new();
    s.script(ALICE, [PlaceScript::Rings(CallOutcome::Passed)]);
    s.script(BOB, [PlaceScript::Rings(CallOutcome::Accepted)]);
    s.start(1).await;
    let alice = s.call(0);

    let pass = Choice::Pass(Some(DeclineReason::Driving));
    let reply = decide(&s, &decision(&s, 1, &alice, pass)).await;
    assert_eq!(reply.verdict, Verdict::Passed);
    assert_eq!(s.dialled(), [ALICE, BOB], "the next call is placed at once");

    let bob = s.call(1);
    let won = decide(&s, &decision(&s, 2, &bob, Choice::Accept)).await;
    assert_eq!(won.verdict, Verdict::Assigned);

    let late = decide(&s, &decision(&s, 1, &alice, Choice::Accept)).await;
    assert_eq!(
        late.verdict,
        Verdict::AlreadyAccepted {
            by: "Bob Agent".into()
        }
    );
    assert_eq!(
        late.say,
        "This incident was already accepted by Bob Agent. Thank you."
    );
    assert_eq!(assignments(&s), ["bob.agent"]);

    for sid in [&alice, &bob] {
        s.m.dialer.finish(sid);
        assert_eq!(s.deliver(sid).await, EventOutcome::Duplicate);
    }
    let notes = s.write_notes(1).await;
    assert!(
        notes.iter().any(|n| n.contains("reason: driving")),
        "{notes:#?}"
    );
    assert_eq!(s.esc(1).history().len(), 2);
}

#[tokio::test]
async fn a_press_after_the_call_was_applied_changes_nothing() {
    let s = Scenario::new();
    s.script(ALICE, [ends(CallOutcome::Passed)]);
    s.script(BOB, [PlaceScript::Rings(CallOutcome::NoKeypress)]);
    s.start(1).await;
    let alice = s.call(0);
    s.deliver(&alice).await;
    assert_eq!(s.calling(1), "Bob Agent");

    let late = decide(&s, &decision(&s, 1, &alice, Choice::Accept)).await;
    assert_eq!(late.verdict, Verdict::NoLongerNeeded);
    assert!(late.say.contains("no longer needs you"), "{}", late.say);
    assert_eq!(s.esc(1).status(), Status::Active);
    assert!(assignments(&s).is_empty());
}

#[tokio::test]
async fn a_decision_naming_another_call_changes_nothing() {
    let s = Scenario::new();
    s.script(ALICE, [PlaceScript::Rings(CallOutcome::NoKeypress)]);
    s.start(1).await;
    let other = s.m.dialer.foreign_call(CallOutcome::Accepted);

    let reply = decide(&s, &decision(&s, 1, &other, Choice::Accept)).await;
    assert_eq!(reply.verdict, Verdict::OtherCall);
    assert_eq!(s.esc(1).status(), Status::Active);
    assert!(s.esc(1).history().is_empty());
    assert!(assignments(&s).is_empty());
}

#[tokio::test]
async fn a_german_speaker_hears_german() {
    let s = Scenario::with(
        r#"{"agent_list": [{"name": "Anna", "phone_no": "+15550100001", "language": "de-DE"}],
            "escalation_list": [{"name": "Carl", "phone_no": "+15550100003"}]}"#,
        Default::default(),
    );
    s.script(ALICE, [PlaceScript::Rings(CallOutcome::Accepted)]);
    s.start(1).await;
    let reply = decide(&s, &decision(&s, 1, &s.call(0), Choice::Accept)).await;
    assert_eq!(
        reply.say,
        "Der Incident I N C, 0 0 1 0 0 0 1 ist Ihnen zugewiesen."
    );
}
