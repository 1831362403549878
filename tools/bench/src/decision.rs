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
    let (live, url) = with_call_decision(held_options(Vec::new())).await;
    alice_presses_1(&live);
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

/// Options of a stack whose calls wait for the bench to end them.
pub(crate) fn held_options(env: Vec<(&'static str, String)>) -> StackOptions {
    StackOptions {
        env,
        auto_end: false,
        ..StackOptions::default()
    }
}

/// A stack with `options` whose flow reports keys to call-decision, served over HTTP as its
/// function URL would be; and that URL.
pub(crate) async fn with_call_decision(mut options: StackOptions) -> (Stack, String) {
    let (listener, url) = decision_url::bind().await;
    options.env.push(("DECISION_URL", url.clone()));
    let stack = Stack::start(options).await;
    let decision = stack
        .parts
        .call_decision(&stack.aws, &stack.resources.dial_queue_url)
        .expect("call-decision");
    decision_url::serve(listener, decision);
    (stack, url)
}

/// Alice presses 1 as soon as her call is answered.
pub(crate) fn alice_presses_1(stack: &Stack) {
    stack.twilio.script(
        ALICE,
        vec![AgentStep::Press {
            digit: "1".into(),
            after_ms: 0,
        }],
    );
}

/// A stack whose calls wait for the bench to end them; Alice presses 1.
async fn held_stack(env: Vec<(&'static str, String)>) -> Stack {
    let stack = Stack::start(held_options(env)).await;
    alice_presses_1(&stack);
    stack
}

/// The form Studio's HTTP Request widget posts to call-decision when the person of `exec`
/// presses `digit`.
pub(crate) fn press_form(
    exec: &ExecutionRecord,
    sys_id: &str,
    digit: &str,
) -> [(&'static str, String); 6] {
    let p = &exec.parameters;
    let text = |k: &str| match &p[k] {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    [
        ("token", text("decision_token")),
        ("escalation_id", text("escalation_id")),
        ("sys_id", sys_id.to_owned()),
        ("attempt", text("attempt")),
        ("execution_sid", exec.sid.clone()),
        ("digit", digit.to_owned()),
    ]
}

/// Polls `done` until it holds (at most [`SAMPLE_TIMEOUT`]); how long after `from` that was.
pub(crate) fn watch_until(
    from: Instant,
    done: impl Fn() -> bool + Send + 'static,
) -> tokio::task::JoinHandle<Option<Duration>> {
    tokio::spawn(async move {
        while from.elapsed() < SAMPLE_TIMEOUT {
            if done() {
                return Some(from.elapsed());
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        None
    })
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
    watch_until(from, move || {
        sn.incident(&id)
            .and_then(|i| i.get("assigned_to").cloned())
            .is_some_and(|v| !v.is_null() && v != "")
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
    let form = press_form(&exec, id, "1");
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
pub(crate) async fn finish(stack: &Stack, sid: &str, id: &str) {
    let _ = stack.twilio.complete(sid).await;
    stack.settle(&[id], SAMPLE_TIMEOUT).await;
}
