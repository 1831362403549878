//! Key press → the `assigned_to` PATCH received by the ServiceNow fake, by the two paths a
//! key can take, measured in the same run, sample by sample in turn:
//!
//! * **call-decision** (the flow reports the key at once): the form Studio's HTTP Request
//!   widget sends is posted to call-decision over HTTP (its function URL, served locally);
//!   its answer means the assignment is on the update queue; the queue goes to
//!   incident-updater.
//! * **flow end** (Event Streams → Kinesis → flow-events): the Twilio fake walks the flow
//!   with the key and ends the execution, its events go onto Kinesis (moto); the records go
//!   to flow-events (Context GET, the decision, the assignment queued); the queue goes to
//!   incident-updater.
//!
//! The clock starts when the key is pressed (the request is sent; the fake is told to end
//! the call) and stops when the fake's incident first shows `assigned_to`, watched by a
//! task of its own. Queues and the stream are handed on as soon as they hold something:
//! no event-source-mapping poll, no Kinesis batching window, no Event Streams delivery and
//! no spoken confirmation before the call ends, which the flow-end path waits for in a
//! deployment and call-decision does not (docs/PERFORMANCE.md says how much).

use escalation_devtools::decision_url;
use escalation_devtools::stack::{ALICE, Stack, StackOptions};
use escalation_fakes::servicenow::ServiceNowHandle;
use escalation_fakes::twilio::{AgentStep, ExecutionRecord};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct DecisionRun {
    pub samples: usize,
    /// Press → PATCH through call-decision.
    pub live: Vec<Duration>,
    /// Press → PATCH through the flow's end.
    pub flow_end: Vec<Duration>,
    /// Samples whose PATCH never came (each one is a failure of the run).
    pub missing: usize,
}

/// How long one sample may take before it counts as missing.
const SAMPLE_TIMEOUT: Duration = Duration::from_secs(20);

pub async fn run(samples: usize) -> DecisionRun {
    let (listener, url) = decision_url::bind().await;
    let live = held_stack(vec![("DECISION_URL", url.clone())]).await;
    let decision = live
        .parts
        .call_decision(&live.aws, &live.resources.dial_queue_url)
        .expect("call-decision");
    decision_url::serve(listener, decision);
    let flow_end = held_stack(Vec::new()).await;
    let http = reqwest::Client::new();
    let mut out = DecisionRun {
        samples,
        live: Vec::new(),
        flow_end: Vec::new(),
        missing: 0,
    };
    for i in 0..samples {
        let id = format!("{:032x}", 0x4d3c_0000_u64 + i as u64);
        let number = format!("INC{:07}", 490_000 + i);
        match live_sample(&live, &http, &url, &id, &number).await {
            Some(d) => out.live.push(d),
            None => out.missing += 1,
        }
        match flow_end_sample(&flow_end, &id, &number).await {
            Some(d) => out.flow_end.push(d),
            None => out.missing += 1,
        }
    }
    out
}

/// A stack whose calls wait for the bench to end them; Alice presses 1.
async fn held_stack(env: Vec<(&'static str, String)>) -> Stack {
    let stack = Stack::start(StackOptions {
        env,
        auto_end: false,
        ..StackOptions::default()
    })
    .await;
    stack.twilio.script(
        ALICE,
        vec![AgentStep::Press {
            digit: "1".into(),
            after_ms: 0,
        }],
    );
    stack
}

/// Start an escalation and wait for Alice's (held) call.
async fn call(stack: &Stack, id: &str, number: &str) -> Option<ExecutionRecord> {
    let (status, _) = stack.trigger(id, number, "Disk full", "1").await;
    if status != 202 {
        return None;
    }
    stack.drain_dials().await;
    stack
        .twilio
        .executions()
        .into_iter()
        .find(|e| e.parameters["sys_id"] == id)
}

/// Watches the fake's incident `id` and returns how long after `from` it first showed
/// `assigned_to`.
fn watch(
    sn: ServiceNowHandle,
    id: String,
    from: Instant,
) -> tokio::task::JoinHandle<Option<Duration>> {
    tokio::spawn(async move {
        while from.elapsed() < SAMPLE_TIMEOUT {
            let assigned = sn
                .incident(&id)
                .and_then(|i| i.get("assigned_to").cloned())
                .is_some_and(|v| !v.is_null() && v != "");
            if assigned {
                return Some(from.elapsed());
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        None
    })
}

/// Hand the update queue to the updater until `watcher` has seen the PATCH.
async fn until_patched(
    stack: &Stack,
    watcher: tokio::task::JoinHandle<Option<Duration>>,
) -> Option<Duration> {
    while !watcher.is_finished() {
        if stack.pump_sqs().await.is_none() {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
    watcher.await.ok().flatten()
}

async fn live_sample(
    stack: &Stack,
    http: &reqwest::Client,
    url: &str,
    id: &str,
    number: &str,
) -> Option<Duration> {
    let exec = call(stack, id, number).await?;
    let p = &exec.parameters;
    let text = |k: &str| match &p[k] {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let form = [
        ("token", text("decision_token")),
        ("escalation_id", text("escalation_id")),
        ("sys_id", id.to_owned()),
        ("attempt", text("attempt")),
        ("execution_sid", exec.sid.clone()),
        ("digit", "1".to_owned()),
    ];
    let pressed = Instant::now();
    let watcher = watch(stack.sn.clone(), id.to_owned(), pressed);
    let answered = http.post(url).form(&form).send().await.ok()?;
    if !answered.status().is_success() {
        watcher.abort();
        return None;
    }
    let took = until_patched(stack, watcher).await;
    // The call ends: the flow's own report and the flow-end event are duplicates.
    finish(stack, &exec.sid, id).await;
    took
}

async fn flow_end_sample(stack: &Stack, id: &str, number: &str) -> Option<Duration> {
    let exec = call(stack, id, number).await?;
    let pressed = Instant::now();
    let watcher = watch(stack.sn.clone(), id.to_owned(), pressed);
    stack.twilio.complete(&exec.sid).await?;
    let records = stack.take_kinesis_records().await;
    stack
        .invoke_flow_events(serde_json::json!({ "Records": records }))
        .await;
    let took = until_patched(stack, watcher).await;
    stack.settle(&[id], SAMPLE_TIMEOUT).await;
    took
}

/// End a held call and let the stack settle.
async fn finish(stack: &Stack, sid: &str, id: &str) {
    let _ = stack.twilio.complete(sid).await;
    stack.settle(&[id], SAMPLE_TIMEOUT).await;
}
