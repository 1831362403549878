//! A reply to an escalation text is the person's decision, applied as a key press is: a 2
//! skips their pending redial, a 1 takes the incident (the first accept wins, by key or by
//! text), and the text after the last call of the walk still lets them take it.

mod support;

use escalation_core::escalation::{Cancel, CancelReason, Phase, Status};
use escalation_core::messaging::Reply;
use escalation_core::model::{CallOutcome, E164};
use escalation_core::ports::{Metric, TelephonyErrorKind};
use escalation_core::testing::{PlaceScript, T0};
use escalation_core::usecase::{EventOutcome, SmsAnswer};
use support::*;

fn e164(s: &str) -> E164 {
    E164::parse(s).unwrap()
}

async fn reply(s: &Scenario, from: &str, reply: Reply) -> SmsAnswer {
    s.engine.on_sms_reply(&e164(from), reply).await.unwrap()
}

#[tokio::test]
async fn a_reply_2_skips_the_pending_redial_and_calls_the_next_person() {
    let s = Scenario::with_sms(&[ALICE]);
    s.script(
        ALICE,
        [
            ends(CallOutcome::NoAnswer),
            PlaceScript::Rings(CallOutcome::NoAnswer),
        ],
    );
    s.script(BOB, [PlaceScript::Rings(CallOutcome::NoAnswer)]);
    s.start(1).await;
    s.settle().await;
    assert_eq!(s.calling(1), "Alice Agent", "her redial rings");
    let answer = reply(&s, ALICE, Reply::Pass).await;
    assert_eq!(
        answer.text(),
        "You passed INC0010001. The next person is being called."
    );
    assert_eq!(s.calling(1), "Bob Agent", "the redial was skipped");
    assert_eq!(s.dialled(), [ALICE, ALICE, BOB]);
    assert_eq!(
        s.m.dialer.hung_up(),
        [s.call(1)],
        "Alice's ringing redial was hung up"
    );
    let esc = s.esc(1);
    assert_eq!(esc.history()[1].outcome, CallOutcome::Passed);
    let note = s.queued(&format!("{}:attempt:2", esc.id())).work_note;
    assert!(
        note.contains("Alice Agent (+1******0001) — replied 2 (pass) to the text message sent after attempt 1; this call was hung up"),
        "{note}"
    );
    assert!(note.contains("Next: agent Bob Agent"), "{note}");
    // The hung-up redial's end arrives afterwards: already applied, nothing more happens.
    assert_eq!(s.deliver(&s.call(1)).await, EventOutcome::Duplicate);
    assert_eq!(s.calling(1), "Bob Agent");
}

#[tokio::test]
async fn a_reply_2_before_the_redial_is_placed_skips_it() {
    let s = Scenario::with_sms(&[ALICE]);
    s.script(
        ALICE,
        [
            ends(CallOutcome::NoAnswer),
            PlaceScript::Fails(TelephonyErrorKind::Unavailable),
        ],
    );
    s.script(BOB, [PlaceScript::Rings(CallOutcome::NoAnswer)]);
    s.start(1).await;
    // The first call's end is applied; the redial is written but could not be placed yet.
    let first = s.call(0);
    let _ = s
        .engine
        .on_flow_ended(&event_id(&first), first.as_str())
        .await;
    let esc = s.esc(1);
    let redial = esc.current().expect("the redial waits");
    assert_eq!(
        (redial.number, redial.person.name.as_str()),
        (2, "Alice Agent")
    );
    assert_eq!(redial.phase, Phase::Dialing);
    let answer = reply(&s, ALICE, Reply::Pass).await;
    assert!(matches!(answer, SmsAnswer::Passed { .. }), "{answer:?}");
    assert_eq!(s.calling(1), "Bob Agent");
    let note = s.queued(&format!("{}:attempt:2", esc.id())).work_note;
    assert!(
        note.contains(
            "replied 2 (pass) to the text message sent after attempt 1, before this call was placed"
        ),
        "{note}"
    );
}

#[tokio::test]
async fn a_reply_1_takes_the_incident_once_and_the_call_that_follows_changes_nothing() {
    let s = Scenario::with_sms(&[ALICE]);
    s.script(
        ALICE,
        [
            ends(CallOutcome::NoAnswer),
            PlaceScript::Rings(CallOutcome::NoAnswer),
        ],
    );
    s.start(1).await;
    s.settle().await;
    let answer = reply(&s, ALICE, Reply::Accept).await;
    assert_eq!(answer.text(), "You accepted INC0010001. Thank you.");
    assert_eq!(s.deliver(&s.call(1)).await, EventOutcome::Duplicate);
    let assigned: Vec<_> =
        s.m.outbox
            .unique()
            .into_iter()
            .filter(|u| u.assign_to.is_some())
            .collect();
    assert_eq!(assigned.len(), 1, "one assignment: {assigned:?}");
    assert_eq!(assigned[0].assign_to.as_deref(), Some("alice.agent"));
    assert_eq!(s.metric(Metric::Accepts), 1.0);
}

#[tokio::test]
async fn the_last_unanswered_call_is_texted_and_a_1_still_takes_the_incident() {
    let s = Scenario::with_sms_policy(&[CAROL], |p| {
        p.max_redials = 0;
        p.fallback_group = Some("Service Desk".into());
    });
    s.script(ALICE, [ends(CallOutcome::NoAnswer)]);
    s.script(BOB, [ends(CallOutcome::Busy)]);
    s.script(CAROL, [ends(CallOutcome::Machine)]);
    let mut inc = incident(1);
    inc.assignment_group = Some("db-group-sys-id".into());
    s.engine.start(inc).await.unwrap();
    s.settle().await;
    let esc = s.esc(1);
    assert_eq!(esc.status(), Status::Exhausted);
    let sent = s.m.messenger.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].to, CAROL, "texted after the last call");
    let exhausted = s.queued(&format!("{}:attempt:3", esc.id()));
    assert_eq!(exhausted.assignment_group.as_deref(), Some("Service Desk"));

    let answer = reply(&s, CAROL, Reply::Accept).await;
    assert_eq!(answer.text(), "You accepted INC0010001. Thank you.");
    let esc = s.esc(1);
    assert_eq!(esc.status(), Status::Accepted);
    assert_eq!(esc.accepted_by(), Some("Carol Manager"));
    let update = s.queued(&format!("{}:attempt:3:text", esc.id()));
    assert_eq!(update.assign_to.as_deref(), Some("carol.manager"));
    assert_eq!(
        update.assignment_group.as_deref(),
        Some("db-group-sys-id"),
        "back in its own group, away from the catch-all"
    );
    assert!(
        update
            .work_note
            .contains("The escalation had ended with nobody accepting"),
        "{}",
        update.work_note
    );
    assert_eq!(s.metric(Metric::Accepts), 1.0);
    assert_eq!(s.metric(Metric::Exhausted), 1.0);
    assert!(s.m.dialer.placed().len() == 3, "nobody else was called");
}

#[tokio::test]
async fn a_2_after_the_last_call_changes_nothing() {
    let s = Scenario::with_sms_policy(&[CAROL], |p| p.max_redials = 0);
    for who in [ALICE, BOB, CAROL] {
        s.script(who, [ends(CallOutcome::NoAnswer)]);
    }
    s.start(1).await;
    s.settle().await;
    let before = s.m.outbox.all().len();
    let answer = reply(&s, CAROL, Reply::Pass).await;
    assert_eq!(
        answer.text(),
        "INC0010001 no longer needs an answer: its escalation has ended. Nothing was changed."
    );
    assert_eq!(s.esc(1).status(), Status::Exhausted);
    assert_eq!(s.m.outbox.all().len(), before);
}

#[tokio::test]
async fn a_1_after_an_accept_by_key_on_the_redial_is_already_theirs() {
    let s = Scenario::with_sms(&[ALICE]);
    s.script(ALICE, [ends(CallOutcome::NoAnswer), press("1")]);
    s.start(1).await;
    s.settle().await;
    assert_eq!(s.esc(1).accepted_by(), Some("Alice Agent"));
    let before = s.m.outbox.all().len();
    let answer = reply(&s, ALICE, Reply::Accept).await;
    assert_eq!(answer.text(), "You accepted INC0010001. Thank you.");
    assert_eq!(s.m.outbox.all().len(), before, "nothing more written");
}

#[tokio::test]
async fn a_reply_1_during_a_ring_all_step_takes_the_incident_and_hangs_up_every_ringing_call() {
    let s = Scenario::ring_all_texting(ROSTER_WITH_DAN, &[ALICE]);
    s.script(ALICE, [ends(CallOutcome::NoAnswer)]);
    s.script(BOB, [PlaceScript::Rings(CallOutcome::NoAnswer)]);
    s.script(DAN, [PlaceScript::Rings(CallOutcome::NoAnswer)]);
    s.start(1).await;
    s.settle().await;
    assert_eq!(s.dialled(), [ALICE, BOB, DAN], "the three ring at once");
    assert_eq!(s.esc(1).status(), Status::Active, "Bob and Dan still ring");

    let answer = reply(&s, ALICE, Reply::Accept).await;
    assert!(matches!(answer, SmsAnswer::Accepted { .. }), "{answer:?}");
    let esc = s.esc(1);
    assert_eq!(esc.status(), Status::Accepted);
    assert_eq!(esc.accepted_by(), Some("Alice Agent"));
    assert_eq!(
        s.m.dialer.hung_up(),
        [s.call(1), s.call(2)],
        "both ringing calls of the step were hung up"
    );
    for n in [1, 2] {
        assert_eq!(s.deliver(&s.call(n)).await, EventOutcome::Duplicate);
    }
    assert_eq!(s.dialled().len(), 3, "nobody else is called");
}

#[tokio::test]
async fn after_the_incident_is_assigned_in_servicenow_a_late_1_to_the_last_text_changes_nothing() {
    let s = Scenario::with_sms_policy(&[CAROL], |p| p.max_redials = 0);
    for who in [ALICE, BOB, CAROL] {
        s.script(who, [ends(CallOutcome::NoAnswer)]);
    }
    s.start(1).await;
    s.settle().await;
    assert_eq!(s.esc(1).status(), Status::Exhausted);
    assert_eq!(s.m.messenger.sent().len(), 1, "Carol was texted");
    // Someone takes the incident in ServiceNow after the escalation ended.
    let assigned = Cancel {
        reason: CancelReason::Assigned,
        detail: Some("Beth Anglin".into()),
        by: Some("Beth Anglin".into()),
        at: T0 + 600_000,
    };
    s.engine.cancel(&sys_id(1), assigned).await.unwrap();
    let before = s.m.outbox.all().len();

    let answer = reply(&s, CAROL, Reply::Accept).await;
    assert_eq!(answer, SmsAnswer::NoOffer, "{}", answer.text());
    assert_eq!(s.esc(1).status(), Status::Exhausted);
    assert_eq!(s.esc(1).accepted_by(), None);
    assert_eq!(s.m.outbox.all().len(), before, "Beth keeps the incident");
}
