//! The SMS path end to end: an unanswered call texts the same person (flow-events with the
//! Twilio Messages fake), and their reply comes back through voice-inbound's signed SMS
//! webhook into the same accept as a key press.

use super::*;
use escalation_devtools::stack::{FROM_NUMBER, StackOptions};
use escalation_fakes::FaultRule;
use escalation_fakes::twilio::AgentStep;
use serde_json::json;
use std::time::{Duration, Instant};

/// The stack with a stored default policy: Alice (texted when her call is not answered),
/// then Bob, then Carol; no redials, so an unanswered call moves on at once.
async fn sms_stack(alice_texted: bool) -> InboundStack {
    stack_texting(if alice_texted { "alice" } else { "" }).await
}

/// The same stack, texting only `texted` (a policy person's key) when unanswered.
async fn stack_texting(texted: &str) -> InboundStack {
    let t = InboundStack::start_with(
        test_config(),
        StackOptions {
            env: vec![
                ("POLICY_CACHE_SECS", "0".into()),
                ("MAX_REDIALS", "0".into()),
            ],
            ..StackOptions::default()
        },
    )
    .await;
    let policy = json!({
        "people": {
            "alice": {"name": "Alice Agent", "phone": ALICE, "sn_user": "alice.agent"},
            "bob": {"name": "Bob Agent", "phone": BOB, "sn_user": "bob.agent"},
            "carol": {"name": "Carol Manager", "phone": CAROL, "sn_user": "carol.manager"}
        },
        "default": {"steps": [
            {"person": "alice", "sms": texted == "alice"},
            {"person": "bob"},
            {"person": "carol", "escalation": true, "sms": texted == "carol"}
        ]}
    });
    t.stack.import_policies(&policy).await.unwrap();
    t
}

/// Drive the event sources until the Twilio fake has accepted `n` texts.
async fn texts(t: &InboundStack, n: usize) -> Vec<escalation_fakes::twilio::MessageRecord> {
    let deadline = Instant::now() + SETTLE;
    loop {
        let sent = t.stack.twilio.messages();
        if sent.len() >= n {
            return sent;
        }
        assert!(
            Instant::now() < deadline,
            "no text within {SETTLE:?}: {sent:?}"
        );
        let busy = t.stack.pump_kinesis().await.is_some() | t.stack.pump_sqs().await.is_some();
        if !busy {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn ringing_long() -> AgentStep {
    AgentStep::NoAnswer { after_ms: 25_000 }
}

async fn reply(t: &InboundStack, n: u64, from: &str, body: &str) -> Vec<String> {
    t.post("/sms", &sms_params(&sid("SM", n), from, FROM_NUMBER, body))
        .await
        .texts("Message")
}

#[tokio::test]
async fn an_unanswered_call_texts_the_same_person_and_a_reply_1_assigns_the_incident_once() {
    let t = sms_stack(true).await;
    t.stack
        .twilio
        .script(ALICE, vec![AgentStep::NoAnswer { after_ms: 0 }]);
    t.stack.twilio.script(BOB, vec![ringing_long()]);
    let id = sys_id_of(0x5101);
    let (status, _) = t
        .stack
        .trigger(
            &id,
            "INC0015101",
            "Orders DB <b>down</b> & R&D VPN flapping",
            "1",
        )
        .await;
    assert_eq!(status, 202);

    let sent = texts(&t, 1).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, ALICE, "the same person");
    assert_eq!(sent[0].from, FROM_NUMBER, "from the number that called");
    assert_eq!(
        sent[0].body,
        "INC0015101 P1: Orders DB down and R and D VPN flapping. Reply 1 to accept, 2 to pass."
    );
    // Meanwhile Bob's phone rings.
    let bob_call = t
        .stack
        .twilio
        .executions()
        .into_iter()
        .find(|e| e.to == BOB)
        .expect("Bob called");
    assert_eq!(bob_call.status, "active");

    assert_eq!(
        reply(&t, 41, ALICE, " 1 ").await,
        ["You accepted INC0015101. Thank you."]
    );
    t.stack.settle(&[&id], SETTLE).await;
    let esc = t.stack.escalation(&id).await.unwrap().escalation;
    assert_eq!(esc.status(), Status::Accepted);
    assert_eq!(esc.accepted_by(), Some("Alice Agent"));
    let incident = t.stack.sn.incident(&id).unwrap();
    assert_eq!(incident["state"], "2");
    assert_eq!(incident["assigned_to"], user_sys_id("alice.agent"));
    let bob_call = t
        .stack
        .twilio
        .executions()
        .into_iter()
        .find(|e| e.to == BOB)
        .unwrap();
    assert_eq!(bob_call.status, "ended", "Bob's ringing call was hung up");
    let notes = t.stack.sn.work_notes(&id);
    let all = notes.join("\n");
    assert!(
        all.contains("Text message sent to Alice Agent (+1******0001) after unanswered attempt 1"),
        "{all}"
    );
    assert!(
        all.contains("Alice Agent (+1******0001) replied 1 (accept)"),
        "{all}"
    );
    assert_eq!(all.matches("ACCEPTED by").count(), 1, "{all}");
    assert_no_full_numbers(&all);

    // The same reply again (or Twilio redelivering it) changes nothing.
    let patches = t
        .stack
        .sn
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH")
        .count();
    let again = reply(&t, 42, ALICE, "1").await;
    assert!(
        again[0].starts_with("There is no open escalation text for your number"),
        "{again:?}"
    );
    t.stack.settle(&[&id], SETTLE).await;
    assert_eq!(
        t.stack
            .sn
            .requests()
            .iter()
            .filter(|r| r.method == "PATCH")
            .count(),
        patches
    );
}

#[tokio::test]
async fn a_late_reply_after_someone_else_accepted_is_told_who_and_changes_nothing() {
    let t = sms_stack(true).await;
    t.stack
        .twilio
        .script(ALICE, vec![AgentStep::Busy { after_ms: 0 }]);
    t.stack.twilio.script(BOB, vec![press("1")]);
    let id = sys_id_of(0x5102);
    t.stack
        .trigger(&id, "INC0015102", "Checkout down", "1")
        .await;
    t.stack.settle(&[&id], SETTLE).await;
    assert_eq!(texts(&t, 1).await[0].to, ALICE);
    let notes_before = t.stack.sn.work_notes(&id);

    assert_eq!(
        reply(&t, 43, ALICE, "1").await,
        ["INC0015102 was already accepted by Bob Agent. Nothing was changed."]
    );
    t.stack.settle(&[&id], SETTLE).await;
    let esc = t.stack.escalation(&id).await.unwrap().escalation;
    assert_eq!(esc.accepted_by(), Some("Bob Agent"));
    assert_eq!(
        t.stack.sn.incident(&id).unwrap()["assigned_to"],
        user_sys_id("bob.agent")
    );
    assert_eq!(t.stack.sn.work_notes(&id), notes_before, "no note");
}

#[tokio::test]
async fn a_forged_reply_is_refused_and_changes_nothing() {
    let t = sms_stack(true).await;
    t.stack
        .twilio
        .script(ALICE, vec![AgentStep::Machine { after_ms: 0 }]);
    t.stack.twilio.script(BOB, vec![ringing_long()]);
    let id = sys_id_of(0x5103);
    t.stack.trigger(&id, "INC0015103", "VPN down", "1").await;
    texts(&t, 1).await;
    let msg = sid("SM", 44);
    let params = sms_params(&msg, ALICE, FROM_NUMBER, "1");
    let forged = escalation_devtools::kit::twilio_webhook(
        "not-the-auth-token",
        &format!("{BASE}/sms"),
        &params,
    )
    .event();
    let r = t.send(&forged).await;
    assert_eq!(r.status, 403);
    assert!(!r.body.contains("accepted"));
    let esc = t.stack.escalation(&id).await.unwrap().escalation;
    assert_eq!(esc.status(), Status::Active, "nothing changed");
    assert_eq!(esc.current().unwrap().person.name, "Bob Agent");
}

#[tokio::test]
async fn without_sms_on_the_step_nobody_is_texted_and_a_1_finds_no_offer() {
    let t = sms_stack(false).await;
    t.stack
        .twilio
        .script(ALICE, vec![AgentStep::NoAnswer { after_ms: 0 }]);
    t.stack.twilio.script(BOB, vec![press("1")]);
    let id = sys_id_of(0x5104);
    t.stack
        .trigger(&id, "INC0015104", "Checkout down", "1")
        .await;
    t.stack.settle(&[&id], SETTLE).await;
    assert!(t.stack.twilio.messages().is_empty());
    let r = reply(&t, 45, ALICE, "1").await;
    assert!(
        r[0].starts_with("There is no open escalation text for your number"),
        "{r:?}"
    );
    assert_eq!(
        t.stack
            .escalation(&id)
            .await
            .unwrap()
            .escalation
            .accepted_by(),
        Some("Bob Agent")
    );
}

#[tokio::test]
async fn a_429_from_the_messages_api_is_retried_and_the_text_goes_out() {
    let t = sms_stack(true).await;
    t.stack.twilio.inject(FaultRule {
        path_contains: Some("/Messages.json".into()),
        ..FaultRule::status(429, 1)
    });
    t.stack
        .twilio
        .script(ALICE, vec![AgentStep::NoAnswer { after_ms: 0 }]);
    t.stack.twilio.script(BOB, vec![press("1")]);
    let id = sys_id_of(0x5105);
    t.stack
        .trigger(&id, "INC0015105", "Checkout down", "1")
        .await;
    t.stack.settle(&[&id], SETTLE).await;
    assert_eq!(texts(&t, 1).await.len(), 1);
    let posts = t
        .stack
        .twilio
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/Messages.json"))
        .count();
    assert_eq!(posts, 2, "one 429, one retry");
}

#[tokio::test]
async fn the_last_unanswered_call_is_texted_and_a_reply_1_still_takes_the_exhausted_incident() {
    let t = stack_texting("carol").await;
    for who in [ALICE, BOB, CAROL] {
        t.stack
            .twilio
            .script(who, vec![AgentStep::NoAnswer { after_ms: 0 }]);
    }
    let id = sys_id_of(0x5106);
    t.stack
        .trigger(&id, "INC0015106", "Checkout down", "1")
        .await;
    let sent = texts(&t, 1).await;
    assert_eq!(sent[0].to, CAROL, "texted after the last call of the walk");
    t.stack.settle(&[&id], SETTLE).await;
    let esc = t.stack.escalation(&id).await.unwrap().escalation;
    assert_eq!(esc.status(), Status::Exhausted);

    assert_eq!(
        reply(&t, 46, CAROL, "1").await,
        ["You accepted INC0015106. Thank you."]
    );
    t.stack.settle(&[&id], SETTLE).await;
    let esc = t.stack.escalation(&id).await.unwrap().escalation;
    assert_eq!(esc.status(), Status::Accepted);
    assert_eq!(esc.accepted_by(), Some("Carol Manager"));
    let incident = t.stack.sn.incident(&id).unwrap();
    assert_eq!(incident["state"], "2");
    assert_eq!(incident["assigned_to"], user_sys_id("carol.manager"));
    let all = t.stack.sn.work_notes(&id).join("\n");
    assert!(
        all.contains("The escalation had ended with nobody accepting"),
        "{all}"
    );
    assert_eq!(t.stack.twilio.executions().len(), 3, "nobody else called");
    assert_no_full_numbers(&all);
}

fn sys_id_of(n: u32) -> String {
    format!("{n:032x}")
}
