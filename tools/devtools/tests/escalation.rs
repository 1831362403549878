//! End-to-end scenarios through the real handlers: function-URL events into
//! incident-trigger, Kinesis records (written by the Twilio fake to moto) into flow-events,
//! SQS messages into incident-updater, and assertions on what ServiceNow and Twilio received.

use escalation_core::escalation::Status;
use escalation_core::model::CallOutcome;
use escalation_core::ports::{Mark, Marks};
use escalation_devtools::stack::{ALICE, BOB, CAROL, FLOW_SID, Stack, StackOptions, user_sys_id};
use escalation_fakes::twilio::AgentStep;
use serde_json::{Value, json};
use std::time::Duration;

const SETTLE: Duration = Duration::from_secs(30);

fn sys_id(n: u32) -> String {
    format!("{n:032x}")
}

fn press(d: &str) -> AgentStep {
    AgentStep::Press {
        digit: d.into(),
        after_ms: 0,
    }
}

/// Fail the next `times` requests matching method and path with `status`.
fn fault(
    method: &str,
    path: Option<&str>,
    status: u16,
    times: u32,
    retry_after_secs: Option<u64>,
) -> escalation_fakes::fault::FaultRule {
    escalation_fakes::fault::FaultRule {
        method: Some(method.into()),
        path_contains: path.map(str::to_string),
        status,
        retry_after_secs,
        times,
        ..Default::default()
    }
}

fn no_answer() -> AgentStep {
    AgentStep::NoAnswer { after_ms: 0 }
}

/// Phone numbers the Twilio fake was asked to call, in order.
fn dialled(stack: &Stack) -> Vec<String> {
    let mut ex = stack.twilio.executions();
    ex.sort_by_key(|e| e.created_at_ms);
    ex.into_iter().map(|e| e.to).collect()
}

/// PATCH requests ServiceNow received for an incident.
fn patches(stack: &Stack, sys_id: &str) -> Vec<Value> {
    stack
        .sn
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH" && r.path.ends_with(sys_id))
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect()
}

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

/// Records of one type from a list of Kinesis records.
fn ended_records(records: &[Value]) -> Vec<Value> {
    records
        .iter()
        .filter(|r| Stack::record_event(r)["type"] == "com.twilio.studio.flow.execution.ended")
        .cloned()
        .collect()
}

#[tokio::test]
async fn duplicate_and_out_of_order_kinesis_records() {
    let stack = Stack::start(StackOptions {
        auto_end: false,
        ..Default::default()
    })
    .await;
    stack.twilio.script(ALICE, vec![press("2")]);
    stack.twilio.script(BOB, vec![press("1")]);
    let id = sys_id(7);
    stack.trigger(&id, "INC0010007", "Queue backlog", "1").await;

    let first = stack.twilio.executions()[0].sid.clone();
    stack.twilio.complete(&first).await.unwrap();
    let e1 = ended_records(&stack.take_kinesis_records().await);
    assert_eq!(e1.len(), 1);
    // Delivered twice in one batch.
    let resp = stack
        .invoke_flow_events(json!({"Records": [e1[0].clone(), e1[0].clone()]}))
        .await;
    assert_eq!(resp["batchItemFailures"], json!([]));
    assert_eq!(dialled(&stack), [ALICE, BOB]);

    let second = stack
        .twilio
        .executions()
        .iter()
        .find(|e| e.to == BOB)
        .unwrap()
        .sid
        .clone();
    stack.twilio.complete(&second).await.unwrap();
    let e2 = ended_records(&stack.take_kinesis_records().await);
    // Out of order and duplicated: new, old (stale), new again, old again.
    let resp = stack
        .invoke_flow_events(
            json!({"Records": [e2[0].clone(), e1[0].clone(), e2[0].clone(), e1[0].clone()]}),
        )
        .await;
    assert_eq!(resp["batchItemFailures"], json!([]));
    // And the whole history again in a later batch, as a Kinesis retry would.
    stack
        .invoke_flow_events(json!({"Records": [e1[0].clone(), e2[0].clone()]}))
        .await;
    while stack.pump_sqs().await.is_some() {}

    assert_eq!(dialled(&stack), [ALICE, BOB], "no call placed twice");
    let esc = stack.escalation(&id).await.unwrap().escalation;
    assert_eq!(esc.status(), Status::Accepted);
    assert_eq!(esc.history().len(), 2);
    let notes = stack.sn.work_notes(&id);
    assert_eq!(
        notes.len(),
        3,
        "started + 2 attempts, each once: {notes:#?}"
    );
    assert_eq!(
        stack.sn.incident(&id).unwrap()["assigned_to"],
        user_sys_id("bob.agent")
    );
}

#[tokio::test]
async fn garbage_records_are_skipped_and_the_rest_processed() {
    let stack = Stack::start(StackOptions {
        auto_end: false,
        ..Default::default()
    })
    .await;
    stack.twilio.script(ALICE, vec![press("1")]);
    let id = sys_id(8);
    stack.trigger(&id, "INC0010008", "Login broken", "1").await;
    let sid = stack.twilio.executions()[0].sid.clone();
    stack.twilio.complete(&sid).await.unwrap();
    let good = ended_records(&stack.take_kinesis_records().await).remove(0);

    let arn = &stack.resources.stream_arn;
    let rec = |seq: &str, data: &[u8]| escalation_devtools::esm::record_json(arn, seq, "pk", data);
    let mut bad_base64 = rec("9001", b"x");
    bad_base64["kinesis"]["data"] = json!("%%% not base64 %%%");
    let mut foreign = Stack::record_event(&good);
    foreign["data"] = json!({"execution_sid": "FN00000000000000000000000000000000", "flow_sid": "FW99999999999999999999999999999999"});
    foreign["id"] = json!("EZforeign");
    let mut missing = Stack::record_event(&good);
    missing["data"] = json!({"flow_sid": FLOW_SID});
    missing["id"] = json!("EZmissing");
    let batch = json!({"Records": [
        bad_base64,
        rec("9002", b"this is not json"),
        rec("9003", br#"{"id":"EZ1","type":"com.twilio.studio.flow.step.ended","data":"{}"}"#),
        rec("9004", foreign.to_string().as_bytes()),
        rec("9005", missing.to_string().as_bytes()),
        rec("9006", br#"{"type":"com.twilio.studio.flow.execution.ended"}"#),
        good,
    ]});
    let resp = stack.invoke_flow_events(batch).await;
    assert_eq!(
        resp["batchItemFailures"],
        json!([]),
        "poison records are never reported as failures"
    );
    while stack.pump_sqs().await.is_some() {}
    let esc = stack.escalation(&id).await.unwrap().escalation;
    assert_eq!(
        esc.status(),
        Status::Accepted,
        "the good record after the garbage was processed"
    );
    // The foreign-flow event never reached Twilio.
    assert!(
        !stack
            .twilio
            .requests()
            .iter()
            .any(|r| r.path.contains("FN00000000000000000000000000000000"))
    );
}

#[tokio::test]
async fn a_transient_failure_is_reported_and_the_retry_succeeds() {
    let stack = Stack::start(StackOptions {
        auto_end: false,
        ..Default::default()
    })
    .await;
    stack.twilio.script(ALICE, vec![press("2")]);
    stack.twilio.script(BOB, vec![press("1")]);
    let id = sys_id(9);
    stack.trigger(&id, "INC0010009", "Slow API", "1").await;
    let sid = stack.twilio.executions()[0].sid.clone();
    stack.twilio.complete(&sid).await.unwrap();
    let ended = ended_records(&stack.take_kinesis_records().await).remove(0);
    let seq = ended["kinesis"]["sequenceNumber"].clone();

    // Twilio's Context endpoint is down for longer than the in-invocation retries.
    stack
        .twilio
        .inject(fault("GET", Some("/Context"), 503, 20, None));
    let resp = stack
        .invoke_flow_events(json!({"Records": [ended.clone()]}))
        .await;
    assert_eq!(resp["batchItemFailures"], json!([{"itemIdentifier": seq}]));
    assert_eq!(
        dialled(&stack),
        [ALICE],
        "nothing moved while Twilio was down"
    );

    stack.twilio.clear_faults();
    let resp = stack.invoke_flow_events(json!({"Records": [ended]})).await;
    assert_eq!(resp["batchItemFailures"], json!([]));
    assert_eq!(
        dialled(&stack),
        [ALICE, BOB],
        "the redelivered record moved the escalation on"
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
async fn servicenow_429_and_500_do_not_lose_or_duplicate_notes() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.twilio.script(ALICE, vec![press("1")]);
    stack.sn.inject(fault("PATCH", None, 429, 1, Some(1)));
    stack.sn.inject(fault("PATCH", None, 500, 8, None));
    let id = sys_id(11);
    stack.trigger(&id, "INC0010011", "Mail relay", "1").await;
    stack.settle(&[&id], SETTLE).await;
    let notes = stack.sn.work_notes(&id);
    assert_eq!(
        notes.len(),
        2,
        "started + accepted, each exactly once: {notes:#?}"
    );
    assert_eq!(stack.sn.incident(&id).unwrap()["state"], "2");
    assert_eq!(
        escalation_devtools::esm::queue_depth(
            &aws_sdk_sqs::Client::new(&stack.sdk),
            &stack.resources.dlq_url
        )
        .await,
        0
    );
}

#[tokio::test]
async fn a_redelivered_update_is_not_written_twice() {
    let stack = Stack::start(StackOptions {
        auto_end: false,
        ..Default::default()
    })
    .await;
    let id = sys_id(12);
    stack.trigger(&id, "INC0010012", "DNS", "1").await;
    let batch = stack_sqs_batch(&stack).await;
    let resp = stack.invoke_updater(batch.clone()).await;
    assert_eq!(resp["batchItemFailures"], json!([]));
    // The same message again (visibility timeout expired before the delete, say).
    let mut again = batch.clone();
    again["Records"][0]["attributes"]["ApproximateReceiveCount"] = json!("2");
    let resp = stack.invoke_updater(again).await;
    assert_eq!(resp["batchItemFailures"], json!([]));
    assert_eq!(stack.sn.work_notes(&id).len(), 1);
}

/// The updater died after ServiceNow took the PATCH and before it recorded the update as
/// applied: the redelivery finds the note by its `(ref <key>)` in the incident's work notes
/// and does not write it again.
#[tokio::test]
async fn an_update_whose_mark_was_lost_is_found_in_the_work_notes() {
    let stack = Stack::start(StackOptions {
        auto_end: false,
        ..Default::default()
    })
    .await;
    let id = sys_id(13);
    stack.trigger(&id, "INC0010013", "Mail", "1").await;
    let batch = stack_sqs_batch(&stack).await;
    let resp = stack.invoke_updater(batch.clone()).await;
    assert_eq!(resp["batchItemFailures"], json!([]));
    assert_eq!(stack.sn.work_notes(&id).len(), 1);
    // The crash: the mark never made it.
    let update: Value =
        serde_json::from_str(batch["Records"][0]["body"].as_str().unwrap()).unwrap();
    let mark = Mark::Update(update["key"].as_str().unwrap().to_string());
    aws_sdk_dynamodb::Client::new(&stack.sdk)
        .delete_item()
        .table_name(&stack.resources.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(escalation_adapters::aws::dynamo::mark_key(
                &mark,
            )),
        )
        .send()
        .await
        .unwrap();
    assert!(!stack.parts.repo.has(&mark).await.unwrap());
    stack.sn.clear_requests();

    let mut again = batch.clone();
    again["Records"][0]["attributes"]["ApproximateReceiveCount"] = json!("2");
    let resp = stack.invoke_updater(again).await;
    assert_eq!(resp["batchItemFailures"], json!([]));
    assert_eq!(stack.sn.work_notes(&id).len(), 1, "not written twice");
    assert!(
        stack.sn.requests().iter().all(|r| r.method == "GET"),
        "only the look-up reached ServiceNow: {:?}",
        stack
            .sn
            .requests()
            .iter()
            .map(|r| (&r.method, &r.path))
            .collect::<Vec<_>>()
    );
    assert!(
        stack.parts.repo.has(&mark).await.unwrap(),
        "the mark is written now"
    );
}

async fn stack_sqs_batch(stack: &Stack) -> Value {
    let sqs = escalation_devtools::esm::SqsPoller::new(
        aws_sdk_sqs::Client::new(&stack.sdk),
        &stack.resources.queue_url,
    )
    .await;
    sqs.next_batch().await.expect("a queued update")
}
