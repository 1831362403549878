//! flow-events under the deliveries Kinesis makes: records twice in a batch, out of order,
//! again in a later batch, garbage among good records, a transient failure reported and
//! redelivered, and every record three times in shuffled concurrent batches. Every test
//! counts calls placed (duplicates must be 0) and notes written.

mod support;

use escalation_core::escalation::Status;
use escalation_devtools::stack::{ALICE, BOB, CAROL, FLOW_SID, Stack, StackOptions, user_sys_id};
use escalation_fakes::twilio::AgentStep;
use serde_json::json;
use std::time::Duration;
use support::{FAULT_IDS, complete, dialled, fault, held_stack, no_answer, press, sys_id};

#[tokio::test]
async fn duplicate_and_out_of_order_kinesis_records() {
    let stack = held_stack().await;
    stack.twilio.script(ALICE, vec![press("2")]);
    stack.twilio.script(BOB, vec![press("1")]);
    let id = sys_id(7);
    stack.trigger(&id, "INC0010007", "Queue backlog", "1").await;

    let first = stack.twilio.executions()[0].sid.clone();
    let e1 = complete(&stack, &first).await;
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
    let e2 = complete(&stack, &second).await;
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
    let stack = held_stack().await;
    stack.twilio.script(ALICE, vec![press("1")]);
    let id = sys_id(8);
    stack.trigger(&id, "INC0010008", "Login broken", "1").await;
    let sid = stack.twilio.executions()[0].sid.clone();
    let good = complete(&stack, &sid).await.remove(0);

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
    let stack = held_stack().await;
    stack.twilio.script(ALICE, vec![press("2")]);
    stack.twilio.script(BOB, vec![press("1")]);
    let id = sys_id(9);
    stack.trigger(&id, "INC0010009", "Slow API", "1").await;
    let sid = stack.twilio.executions()[0].sid.clone();
    let ended = complete(&stack, &sid).await.remove(0);
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

/// Drive the stack with every Kinesis batch tripled and shuffled until `id` is terminal.
async fn settle_chaotically(stack: &Stack, id: &str, seed: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut round = 0;
    loop {
        round += 1;
        let k = stack.pump_kinesis_chaos(3, seed + round).await.is_some();
        let s = stack.pump_sqs().await.is_some();
        if !k && !s {
            let done = stack
                .escalation(id)
                .await
                .is_some_and(|e| e.escalation.status().is_terminal());
            if done && stack.pump_sqs().await.is_none() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if std::time::Instant::now() > deadline {
            let esc = stack.escalation(id).await.map(|s| s.escalation);
            panic!(
                "did not settle: {esc:#?}\nexecutions: {:#?}",
                stack.twilio.executions()
            );
        }
    }
}

#[tokio::test]
async fn every_record_delivered_three_times_shuffled_gives_the_same_outcome() {
    for (seed, steps, expect_calls, expect_status) in [
        (
            7u64,
            vec![(ALICE, press("2")), (BOB, press("1"))],
            vec![ALICE, BOB],
            Status::Accepted,
        ),
        (
            11,
            vec![(ALICE, press("3")), (CAROL, press("1"))],
            vec![ALICE, CAROL],
            Status::Accepted,
        ),
        (
            13,
            vec![
                (ALICE, no_answer()),
                (BOB, AgentStep::Busy { after_ms: 0 }),
                (CAROL, AgentStep::Machine { after_ms: 0 }),
            ],
            vec![ALICE, ALICE, BOB, BOB, CAROL, CAROL],
            Status::Exhausted,
        ),
    ] {
        let stack = Stack::start(StackOptions::default()).await;
        for (phone, step) in steps {
            stack.twilio.script(phone, vec![step]);
        }
        let id = sys_id(FAULT_IDS + seed as u32);
        stack.trigger(&id, "INC0030001", "Chaos", "1").await;
        settle_chaotically(&stack, &id, seed).await;
        assert_eq!(
            dialled(&stack),
            expect_calls,
            "seed {seed}: 0 duplicate calls"
        );
        let esc = stack.escalation(&id).await.unwrap().escalation;
        assert_eq!(esc.status(), expect_status, "seed {seed}");
        let notes = stack.sn.work_notes(&id);
        assert_eq!(
            notes.len(),
            1 + expect_calls.len(),
            "seed {seed}: started + one note per call, none twice: {notes:#?}"
        );
    }
}
