//! End-to-end scenarios of the call walk through the real handlers: function-URL events into
//! incident-trigger, Kinesis records (written by the Twilio fake to moto) into flow-events,
//! SQS messages into incident-updater, and assertions on whom Twilio called and what
//! ServiceNow received: accept, pass, escalate, nobody answers, redials, a duplicate trigger,
//! Studio's rate limit, an agent busy on another escalation.

mod support;

use escalation_core::escalation::Status;
use escalation_core::model::CallOutcome;
use escalation_devtools::stack::{ALICE, BOB, CAROL, Stack, StackOptions, user_sys_id};
use escalation_fakes::twilio::AgentStep;
use serde_json::Value;
use support::{FAULT_IDS, SETTLE, dialled, fault, no_answer, patches, press, sys_id};

#[tokio::test]
async fn accept_on_first_call() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.twilio.script(ALICE, vec![press("1")]);
    let id = sys_id(1);
    let (status, body) = stack
        .trigger(&id, "INC0010001", "Checkout is down", "1")
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["calling"], "Alice Agent");
    assert_eq!(body["status"], "ACTIVE");
    assert!(body["escalation_id"].as_str().unwrap().starts_with("ESC-"));
    assert!(
        !body.to_string().contains("555"),
        "no phone numbers in the answer: {body}"
    );

    stack.settle(&[&id], SETTLE).await;

    assert_eq!(dialled(&stack), [ALICE]);
    let created = &stack.twilio.executions()[0];
    assert_eq!(created.from, "+15550109999");
    assert_eq!(created.parameters["incident_number"], "INC0010001");
    assert_eq!(created.parameters["attempt"], 1);

    let esc = stack.escalation(&id).await.unwrap().escalation;
    assert_eq!(esc.status(), Status::Accepted);
    assert_eq!(esc.accepted_by(), Some("Alice Agent"));

    let incident = stack.sn.incident(&id).unwrap();
    assert_eq!(incident["state"], "2", "In Progress");
    assert_eq!(incident["assigned_to"], user_sys_id("alice.agent"));
    let notes = stack.sn.work_notes(&id);
    assert_eq!(notes.len(), 2, "{notes:#?}");
    assert!(notes[0].contains("Phone escalation started"));
    assert!(
        notes[1].contains("Attempt 1: called agent Alice Agent (+1******0001)"),
        "{}",
        notes[1]
    );
    assert!(notes[1].contains("ACCEPTED by Alice Agent"));
    assert!(
        notes[1].contains(&created.sid),
        "the note names the Twilio execution"
    );
    assert!(
        notes.iter().all(|n| !n.contains("+15550100001")),
        "full numbers never written"
    );
    // Work notes, never comments (comments e-mail the caller).
    assert!(
        patches(&stack, &id)
            .iter()
            .all(|p| p.get("comments").is_none())
    );
}

#[tokio::test]
async fn pass_pass_then_accept() {
    let roster = r#"{"agent_list":[
        {"name":"Alice Agent","phone_no":"+15550100001","sn_user":"alice.agent"},
        {"name":"Bob Agent","phone_no":"+15550100002","sn_user":"bob.agent"},
        {"name":"Dan Agent","phone_no":"+15550100004","sn_user":"dan.agent"}],
      "escalation_list":[{"name":"Carol Manager","phone_no":"+15550100003","sn_user":"carol.manager"}]}"#;
    let stack = Stack::start(StackOptions {
        roster_json: roster.into(),
        ..Default::default()
    })
    .await;
    stack.twilio.script(ALICE, vec![press("2")]);
    stack.twilio.script(BOB, vec![press("2")]);
    stack.twilio.script("+15550100004", vec![press("1")]);
    let id = sys_id(2);
    assert_eq!(
        stack
            .trigger(&id, "INC0010002", "Payments failing", "2")
            .await
            .0,
        202
    );
    stack.settle(&[&id], SETTLE).await;

    assert_eq!(dialled(&stack), [ALICE, BOB, "+15550100004"]);
    let incident = stack.sn.incident(&id).unwrap();
    assert_eq!(incident["assigned_to"], user_sys_id("dan.agent"));
    assert_eq!(incident["state"], "2");
    let notes = stack.sn.work_notes(&id);
    assert_eq!(notes.len(), 4, "started + one per attempt: {notes:#?}");
    assert!(notes[1].contains("Attempt 1") && notes[1].contains("pressed 2"));
    assert!(notes[2].contains("Attempt 2") && notes[2].contains("Bob Agent"));
    assert!(notes[3].contains("Attempt 3") && notes[3].contains("ACCEPTED by Dan Agent"));
}

#[tokio::test]
async fn escalate_goes_to_the_escalation_list() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.twilio.script(ALICE, vec![press("3")]);
    stack.twilio.script(CAROL, vec![press("1")]);
    let id = sys_id(3);
    stack
        .trigger(&id, "INC0010003", "Data center power", "1")
        .await;
    stack.settle(&[&id], SETTLE).await;

    assert_eq!(dialled(&stack), [ALICE, CAROL], "Bob is skipped after 3");
    let esc = stack.escalation(&id).await.unwrap().escalation;
    assert_eq!(esc.accepted_by(), Some("Carol Manager"));
    assert_eq!(esc.history()[0].outcome, CallOutcome::Escalated);
    assert_eq!(
        stack.sn.incident(&id).unwrap()["assigned_to"],
        user_sys_id("carol.manager")
    );
    let notes = stack.sn.work_notes(&id);
    assert!(
        notes[1].contains("pressed 3 (escalate)")
            && notes[1].contains("Next: escalation contact Carol Manager")
    );
}

#[tokio::test]
async fn nobody_answers_exhausts_with_a_note() {
    let stack = Stack::start(StackOptions::default()).await;
    for n in [ALICE, BOB, CAROL] {
        stack.twilio.script(n, vec![no_answer()]);
    }
    let id = sys_id(4);
    stack
        .trigger(&id, "INC0010004", "Everything is on fire", "1")
        .await;
    stack.settle(&[&id], SETTLE).await;

    assert_eq!(
        dialled(&stack),
        [ALICE, ALICE, BOB, BOB, CAROL, CAROL],
        "one redial each, then the next"
    );
    let esc = stack.escalation(&id).await.unwrap().escalation;
    assert_eq!(esc.status(), Status::Exhausted);
    let notes = stack.sn.work_notes(&id);
    assert_eq!(notes.len(), 7, "{notes:#?}");
    assert!(notes[6].contains("NOBODY ACCEPTED"), "{}", notes[6]);
    let incident = stack.sn.incident(&id).unwrap();
    assert_ne!(incident["state"], "2", "not marked In Progress");
    assert_eq!(
        incident
            .get("assigned_to")
            .and_then(Value::as_str)
            .unwrap_or(""),
        ""
    );
}

#[tokio::test]
async fn machine_busy_and_hangup_are_redialled_then_passed() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.twilio.script(
        ALICE,
        vec![
            AgentStep::Machine { after_ms: 0 },
            AgentStep::Busy { after_ms: 0 },
        ],
    );
    stack
        .twilio
        .script(BOB, vec![AgentStep::Hangup { after_ms: 0 }, press("1")]);
    let id = sys_id(5);
    stack.trigger(&id, "INC0010005", "VPN down", "1").await;
    stack.settle(&[&id], SETTLE).await;
    assert_eq!(dialled(&stack), [ALICE, ALICE, BOB, BOB]);
    let esc = stack.escalation(&id).await.unwrap().escalation;
    let outcomes: Vec<_> = esc.history().iter().map(|h| h.outcome.clone()).collect();
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
async fn duplicate_trigger_does_not_call_twice() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.twilio.script(ALICE, vec![press("1")]);
    let id = sys_id(6);
    let (s1, b1) = stack.trigger(&id, "INC0010006", "Disk full", "1").await;
    let (s2, b2) = stack.trigger(&id, "INC0010006", "Disk full", "1").await;
    assert_eq!((s1, s2), (202, 200));
    assert_eq!(b1["escalation_id"], b2["escalation_id"]);
    stack.settle(&[&id], SETTLE).await;
    let (s3, b3) = stack.trigger(&id, "INC0010006", "Disk full", "1").await;
    assert_eq!(s3, 200);
    assert_eq!(b3["status"], "ACCEPTED");
    assert_eq!(b3["accepted_by"], "Alice Agent");
    assert_eq!(dialled(&stack), [ALICE], "exactly one call");
    assert_eq!(
        stack
            .sn
            .work_notes(&id)
            .iter()
            .filter(|n| n.contains("Phone escalation started"))
            .count(),
        1
    );
}

#[tokio::test]
async fn twilio_rate_limit_and_5xx_on_create_are_retried_into_one_execution() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.twilio.script(ALICE, vec![press("1")]);
    stack
        .twilio
        .inject(fault("POST", Some("/Executions"), 429, 1, Some(1)));
    stack
        .twilio
        .inject(fault("POST", Some("/Executions"), 500, 1, None));
    let id = sys_id(10);
    let (status, _) = stack.trigger(&id, "INC0010010", "Cache cluster", "1").await;
    assert_eq!(status, 202);
    stack.settle(&[&id], SETTLE).await;
    let creates = stack
        .twilio
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/Executions"))
        .count();
    assert_eq!(creates, 3, "429, 500, then 201");
    assert_eq!(dialled(&stack), [ALICE], "one execution in the end");
}

#[tokio::test]
async fn an_agent_busy_on_another_escalation_is_skipped_then_retried() {
    let stack = Stack::start(StackOptions {
        auto_end: false,
        env: vec![("MAX_REDIALS", "0".into())],
        ..Default::default()
    })
    .await;
    stack.twilio.script(ALICE, vec![press("1")]);
    stack.twilio.script(BOB, vec![press("2")]);
    stack.twilio.script(CAROL, vec![press("2")]);
    // Incident 1 holds Alice on the phone.
    let one = sys_id(FAULT_IDS + 8);
    stack.trigger(&one, "INC0030008", "First", "1").await;
    // Incident 2 finds her busy (Studio 409 with a foreign execution): Bob is called.
    let two = sys_id(FAULT_IDS + 9);
    stack.trigger(&two, "INC0030009", "Second", "1").await;
    assert_eq!(dialled(&stack), [ALICE, BOB]);
    let esc = stack.escalation(&two).await.unwrap().escalation;
    assert_eq!(
        esc.history()[0].outcome,
        escalation_core::model::CallOutcome::OnAnotherCall
    );
    // Bob and Carol pass; Alice is still busy, so incident 2 waits for her.
    for who in [BOB, CAROL] {
        let sid = stack
            .twilio
            .executions()
            .into_iter()
            .find(|e| e.to == who && e.status == "active")
            .unwrap()
            .sid;
        stack.twilio.complete(&sid).await.unwrap();
        stack.pump_kinesis().await;
    }
    let esc = stack.escalation(&two).await.unwrap().escalation;
    assert_eq!(
        esc.status(),
        Status::Active,
        "not exhausted while Alice may free up"
    );
    let waiting = esc.current().unwrap();
    assert_eq!(waiting.person.name, "Alice Agent");
    assert!(waiting.not_before.is_some());
    // Alice accepts incident 1 and hangs up; after the wait the sweeper calls her for incident 2.
    let sid = stack.twilio.executions()[0].sid.clone();
    stack.twilio.complete(&sid).await.unwrap();
    stack.pump_kinesis().await;
    let report = stack.sweep_ahead(31_000).await;
    assert_eq!(report.dialled, 1, "{report:?}");
    let to_alice: Vec<_> = dialled(&stack).into_iter().filter(|n| n == ALICE).collect();
    assert_eq!(to_alice.len(), 2, "Alice: once per incident");
    while stack.pump_sqs().await.is_some() {}
    let notes = stack.sn.work_notes(&two);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("already on another escalation call")),
        "{notes:#?}"
    );
    assert!(
        notes.iter().any(|n| n.contains("busy retry 1 of 3")),
        "{notes:#?}"
    );
}
