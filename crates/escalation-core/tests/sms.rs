//! The SMS path over the in-memory adapters: a text after an unanswered call, when the
//! step asks for it, and a reply that accepts through the same write as a key press.

mod support;

use escalation_core::escalation::Status;
use escalation_core::messaging::{MessagingErrorKind, Reply};
use escalation_core::model::{CallOutcome, E164};
use escalation_core::ports::Metric;
use escalation_core::testing::PlaceScript;
use escalation_core::usecase::SmsAnswer;
use support::*;

fn e164(s: &str) -> E164 {
    E164::parse(s).unwrap()
}

#[tokio::test]
async fn an_unanswered_call_texts_the_same_person_once_and_notes_it_masked() {
    let s = Scenario::with_sms(&[ALICE]);
    s.script(
        ALICE,
        [ends(CallOutcome::NoAnswer), ends(CallOutcome::Busy)],
    );
    s.script(BOB, [PlaceScript::Rings(CallOutcome::NoAnswer)]);
    s.start(1).await;
    s.settle().await;
    let sent = s.m.messenger.sent();
    assert_eq!(
        sent.len(),
        1,
        "one text per person and escalation: {sent:?}"
    );
    assert_eq!(sent[0].to, ALICE);
    assert_eq!(
        sent[0].body,
        "INC0010001 P1: Outage 1. Reply 1 to accept, 2 to pass."
    );
    let note = s.queued(&format!("{}:sms:1", s.esc(1).id())).work_note;
    assert!(
        note.contains("Text message sent to Alice Agent (+1******0001) after unanswered attempt 1"),
        "{note}"
    );
    assert!(!note.contains(ALICE), "the number is masked: {note}");
    assert_eq!(s.metric(Metric::SmsSent), 1.0);
    // Bob has no SMS on his step: his unanswered call texts nobody.
    assert_eq!(s.calling(1), "Bob Agent");
}

#[tokio::test]
async fn without_sms_on_the_step_nobody_is_texted() {
    let s = Scenario::with_sms(&[]);
    s.script(ALICE, [ends(CallOutcome::NoAnswer)]);
    s.script(BOB, [ends(CallOutcome::Machine)]);
    s.script(CAROL, [press("1")]);
    s.start(1).await;
    s.settle().await;
    assert!(s.m.messenger.sent().is_empty());
    assert!(s.m.offers.all().is_empty());
    assert_eq!(s.esc(1).accepted_by(), Some("Carol Manager"));
}

#[tokio::test]
async fn a_reply_1_accepts_once_and_hangs_up_the_ringing_call() {
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
    // Alice is being redialled; she replies 1 to the text instead.
    let answer = s
        .engine
        .on_sms_reply(&e164(ALICE), Reply::Accept)
        .await
        .unwrap();
    assert_eq!(answer.text(), "You accepted INC0010001. Thank you.");
    let esc = s.esc(1);
    assert_eq!(esc.status(), Status::Accepted);
    assert_eq!(esc.accepted_by(), Some("Alice Agent"));
    // The reply ends her ringing redial (attempt 2) as her accept.
    let update = s.queued(&format!("{}:attempt:2", esc.id()));
    assert_eq!(update.assign_to.as_deref(), Some("alice.agent"));
    assert!(
        update.work_note.contains(
            "replied 1 (accept) to the text message sent after attempt 1; this call was hung up."
        ),
        "{}",
        update.work_note
    );
    assert!(
        s.m.dialer.placed()[1].gone || !s.m.dialer.placed()[1].active,
        "the redial was hung up"
    );
    assert_eq!(s.metric(Metric::Accepts), 1.0);
    // The same reply again: the offer is closed.
    let again = s
        .engine
        .on_sms_reply(&e164(ALICE), Reply::Accept)
        .await
        .unwrap();
    assert_eq!(again, SmsAnswer::NoOffer);
    assert_eq!(s.metric(Metric::Accepts), 1.0);
}

#[tokio::test]
async fn a_late_reply_after_someone_else_accepted_changes_nothing() {
    let s = Scenario::with_sms(&[ALICE]);
    s.script(
        ALICE,
        [ends(CallOutcome::NoAnswer), ends(CallOutcome::NoAnswer)],
    );
    s.script(BOB, [press("1")]);
    s.start(1).await;
    s.settle().await;
    assert_eq!(s.esc(1).accepted_by(), Some("Bob Agent"));
    let before = s.m.outbox.all().len();
    let answer = s
        .engine
        .on_sms_reply(&e164(ALICE), Reply::Accept)
        .await
        .unwrap();
    assert_eq!(
        answer.text(),
        "INC0010001 was already accepted by Bob Agent. Nothing was changed."
    );
    assert_eq!(s.esc(1).accepted_by(), Some("Bob Agent"));
    assert_eq!(s.m.outbox.all().len(), before, "no note, no change");
}

#[tokio::test]
async fn a_reply_2_after_the_walk_moved_on_is_noted_and_the_walk_goes_on() {
    let s = Scenario::with_sms(&[ALICE]);
    s.script(
        ALICE,
        [ends(CallOutcome::NoAnswer), ends(CallOutcome::NoAnswer)],
    );
    s.script(BOB, [PlaceScript::Rings(CallOutcome::NoAnswer)]);
    s.start(1).await;
    s.settle().await;
    let answer = s
        .engine
        .on_sms_reply(&e164(ALICE), Reply::Pass)
        .await
        .unwrap();
    assert_eq!(
        answer.text(),
        "You passed INC0010001. The next person is being called."
    );
    assert_eq!(s.esc(1).status(), Status::Active);
    assert_eq!(s.calling(1), "Bob Agent");
    // Her redial had already ended too: the walk is with Bob, the pass is noted.
    let note = s
        .queued(&format!("{}:attempt:1:text", s.esc(1).id()))
        .work_note;
    assert!(
        note.contains("Alice Agent (+1******0001) replied 2 (pass)"),
        "{note}"
    );
}

#[tokio::test]
async fn a_reply_from_a_number_without_an_offer_changes_nothing() {
    let s = Scenario::with_sms(&[ALICE]);
    s.script(ALICE, [PlaceScript::Rings(CallOutcome::NoAnswer)]);
    s.start(1).await;
    for phone in [ALICE, "+15559990000"] {
        let answer = s
            .engine
            .on_sms_reply(&e164(phone), Reply::Accept)
            .await
            .unwrap();
        assert_eq!(answer, SmsAnswer::NoOffer);
        assert!(
            answer
                .text()
                .starts_with("There is no open escalation text for your number")
        );
    }
    assert_eq!(s.esc(1).status(), Status::Active);
}

#[tokio::test]
async fn a_text_that_cannot_be_sent_is_noted_and_the_calls_go_on() {
    let s = Scenario::with_sms(&[ALICE]);
    s.m.messenger
        .fail_with(Some(MessagingErrorKind::Undeliverable));
    s.script(
        ALICE,
        [ends(CallOutcome::NoAnswer), ends(CallOutcome::NoAnswer)],
    );
    s.script(BOB, [press("1")]);
    s.start(1).await;
    s.settle().await;
    let note = s.queued(&format!("{}:sms:1", s.esc(1).id())).work_note;
    assert!(
        note.contains("could not be sent: the number does not take text messages"),
        "{note}"
    );
    assert!(s.m.offers.all().is_empty(), "no offer left open");
    // No offer was left open, so the redial that also goes unanswered tries again.
    assert_eq!(s.metric(Metric::SmsFailures), 2.0);
    assert!(s.m.outbox.all().iter().any(|u| u.key.ends_with(":sms:2")));
    assert_eq!(s.esc(1).accepted_by(), Some("Bob Agent"));
}

#[tokio::test]
async fn german_speakers_get_german_texts() {
    let s = Scenario::with_sms(&[ALICE]);
    let _ = &s;
    let offer = escalation_core::prompts::sms::offer(
        escalation_core::prompts::locale(Some("de-DE")),
        &incident(1),
    );
    assert_eq!(
        offer,
        "INC0010001 P1: Outage 1. Antworten Sie 1 zum Annehmen, 2 zum Weitergeben."
    );
}
