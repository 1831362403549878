//! incident-updater end to end: ServiceNow answering 429 and 500, a redelivered update, an
//! update whose applied mark was lost, and a long outage that parks every update in the DLQ
//! until it is redriven. No update is lost and none is written twice; calls go on meanwhile.

mod support;

use escalation_core::escalation::Status;
use escalation_core::ports::{Mark, Marks};
use escalation_devtools::stack::{ALICE, BOB, Stack, StackOptions, user_sys_id};
use serde_json::{Value, json};
use std::time::Duration;
use support::{FAULT_IDS, SETTLE, dialled, fault, held_stack, press, queue_depth, sys_id};

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
    assert_eq!(queue_depth(&stack, &stack.resources.dlq_url).await, 0);
}

#[tokio::test]
async fn a_redelivered_update_is_not_written_twice() {
    let stack = held_stack().await;
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
    let stack = held_stack().await;
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

/// Move everything from the DLQ back to the queue (what an operator does with
/// `aws sqs start-message-move-task` once ServiceNow is back).
async fn redrive(stack: &Stack) -> usize {
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    let mut moved = 0;
    loop {
        let out = sqs
            .receive_message()
            .queue_url(&stack.resources.dlq_url)
            .max_number_of_messages(10)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        let msgs = out.messages.unwrap_or_default();
        if msgs.is_empty() {
            return moved;
        }
        for m in msgs {
            let attrs = m.attributes.clone().unwrap_or_default();
            let group = attrs
                .get(&aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId)
                .cloned()
                .unwrap_or_default();
            sqs.send_message()
                .queue_url(&stack.resources.queue_url)
                .message_body(m.body.clone().unwrap_or_default())
                .message_group_id(group)
                .message_deduplication_id(format!(
                    "redrive-{}",
                    m.message_id.clone().unwrap_or_default()
                ))
                .send()
                .await
                .unwrap();
            sqs.delete_message()
                .queue_url(&stack.resources.dlq_url)
                .receipt_handle(m.receipt_handle.unwrap_or_default())
                .send()
                .await
                .unwrap();
            moved += 1;
        }
    }
}

#[tokio::test]
async fn a_long_servicenow_outage_loses_no_update_and_does_not_stop_calls() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.twilio.script(ALICE, vec![press("2")]);
    stack.twilio.script(BOB, vec![press("1")]);
    // ServiceNow answers 500 and 429 to every write for a long stretch.
    stack.sn.inject(fault("PATCH", None, 429, 2, Some(1)));
    stack.sn.inject(fault("PATCH", None, 500, 100_000, None));
    let id = sys_id(FAULT_IDS + 1);
    stack.trigger(&id, "INC0030002", "SN outage", "1").await;

    // Calls go on while ServiceNow is down.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        stack.pump_kinesis().await;
        stack.pump_sqs().await;
        let done = stack
            .escalation(&id)
            .await
            .is_some_and(|e| e.escalation.status() == Status::Accepted);
        let queued = queue_depth(&stack, &stack.resources.queue_url).await;
        if done && queued == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "did not drain to the DLQ"
        );
    }
    assert_eq!(
        dialled(&stack),
        [ALICE, BOB],
        "calls continued during the outage"
    );
    assert!(
        stack.sn.work_notes(&id).is_empty(),
        "nothing could be written"
    );
    let parked = queue_depth(&stack, &stack.resources.dlq_url).await;
    assert_eq!(
        parked, 3,
        "started + 2 attempts kept in the DLQ after max receives"
    );

    // ServiceNow is back; the operator redrives the DLQ.
    stack.sn.clear_faults();
    assert_eq!(redrive(&stack).await, 3);
    while stack.pump_sqs().await.is_some() {}
    let notes = stack.sn.work_notes(&id);
    assert_eq!(notes.len(), 3, "0 updates lost, none twice: {notes:#?}");
    assert!(notes[0].contains("Phone escalation started"));
    assert!(
        notes[1].contains("Attempt 1") && notes[2].contains("Attempt 2"),
        "in order"
    );
    let incident = stack.sn.incident(&id).unwrap();
    assert_eq!(incident["assigned_to"], user_sys_id("bob.agent"));
}

/// ServiceNow committed the PATCH but the answer was a 502: the retry inside the same
/// invocation must look for the note's reference first instead of appending it again.
#[tokio::test]
async fn a_work_note_is_not_written_twice_when_servicenow_commits_the_patch_but_answers_502() {
    let stack = held_stack().await;
    let id = sys_id(17);
    stack.trigger(&id, "INC0010017", "Storage", "1").await;
    stack.sn.inject(escalation_fakes::fault::FaultRule {
        after_write: true,
        ..fault("PATCH", Some("/incident/"), 502, 1, None)
    });
    let batch = stack_sqs_batch(&stack).await;
    let resp = stack.invoke_updater(batch).await;
    assert_eq!(
        resp["batchItemFailures"],
        json!([]),
        "the note is there: done"
    );
    let notes = stack.sn.work_notes(&id);
    assert_eq!(notes.len(), 1, "written once: {notes:#?}");
}
