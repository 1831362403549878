//! The hot path: a flow-end record handed to flow-events → the next person's Studio create
//! received by the Twilio fake. flow-events places the next call itself (Context GET, one
//! read, one conditional write, then rate token, lease and create; the note is queued after
//! the create), so its whole invocation ends after the create. No latency is injected
//! anywhere, so the figure is our own work and the local round trips. The dial queue is
//! drained afterwards anyway, so a change that moved next calls onto it stays measured.
//!
//! Each sample is one escalation, run on its own: Alice is called and presses 2, the fake
//! ends her call and puts its events on Kinesis; once her `execution.ended` record is there,
//! the clock starts, the records go to flow-events, the dial queue goes to the dialer, and
//! the clock stops at the fake's receipt of Bob's create. Bob then accepts and the
//! escalation settles before the next sample.

use crate::probe::put_items;
use escalation_adapters::clock::now_ms;
use escalation_adapters::twilio::event_stream::EXECUTION_ENDED;
use escalation_devtools::stack::{ALICE, BOB, Stack, StackOptions};
use escalation_fakes::twilio::AgentStep;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct HotPathRun {
    pub samples: usize,
    /// Record handed to flow-events → the next create received by the fake.
    pub total: Vec<Duration>,
    /// flow-events' whole invocation (handed → returned), which includes the create.
    pub flow_events: Vec<Duration>,
    /// Samples where the next call was not created (each one is a failure of the run).
    pub missing: usize,
    /// One conditional PutItem to the same moto, one at a time, after the samples.
    pub put_item: Vec<Duration>,
}

pub async fn run(samples: usize) -> HotPathRun {
    let stack = Stack::start(StackOptions::default()).await;
    let press = |digit: &str| AgentStep::Press {
        digit: digit.into(),
        after_ms: 0,
    };
    stack.twilio.script(ALICE, vec![press("2")]);
    stack.twilio.script(BOB, vec![press("1")]);
    let mut out = HotPathRun {
        samples,
        total: Vec::new(),
        flow_events: Vec::new(),
        missing: 0,
        put_item: Vec::new(),
    };
    for i in 0..samples {
        let id = format!("{:032x}", 0x4807_0000_u64 + i as u64);
        let (status, body) = stack
            .trigger(&id, &format!("INC{:07}", 480_000 + i), "Disk full", "1")
            .await;
        assert_eq!(status, 202, "hot path trigger: {body}");
        stack.drain_dials().await;
        let Some(alice) = execution_to(&stack, &id, ALICE) else {
            out.missing += 1;
            continue;
        };
        let records = ended_records(&stack, &alice).await;
        let handed = now_ms();
        let t = Instant::now();
        stack
            .invoke_flow_events(serde_json::json!({ "Records": records }))
            .await;
        out.flow_events.push(t.elapsed());
        stack.drain_dials().await;
        match execution_to(&stack, &id, BOB) {
            Some(bob) => out.total.push(Duration::from_millis(
                bob.created_at_ms.saturating_sub(handed),
            )),
            None => out.missing += 1,
        }
        stack.settle(&[&id], Duration::from_secs(30)).await;
    }
    out.put_item = put_items(&stack, samples.max(20)).await;
    out
}

/// The incident's execution to `phone`, if one was created.
fn execution_to(
    stack: &Stack,
    incident_sys_id: &str,
    phone: &str,
) -> Option<escalation_fakes::twilio::ExecutionRecord> {
    stack
        .twilio
        .executions()
        .into_iter()
        .find(|e| e.to == phone && e.parameters["sys_id"] == incident_sys_id)
}

/// Every record on the stream up to and including the end of `execution` (waits up to
/// 10 s for the fake to end the call and put its events on Kinesis).
async fn ended_records(
    stack: &Stack,
    execution: &escalation_fakes::twilio::ExecutionRecord,
) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut records = Vec::new();
    loop {
        records.extend(stack.take_kinesis_records().await);
        let ended = records.iter().any(|r| {
            let ev = Stack::record_event(r);
            ev["type"] == EXECUTION_ENDED && ev.to_string().contains(&execution.sid)
        });
        if ended || Instant::now() > deadline {
            return records;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
