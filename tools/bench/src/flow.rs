//! flow-events: CPU time per Kinesis record and batch wall time against the ideal.
//!
//! Each run gets fresh escalations: `relevant` incidents are triggered through the real
//! incident-trigger handler (Twilio fake with `auto_end: false`), each execution is then
//! completed at the fake, which yields the real `execution.ended` CloudEvent. Those events,
//! mixed with nine times as many `execution.started` / `step.ended` events of other
//! executions, make one Kinesis batch. The handler runs on its own thread with a
//! current-thread runtime, so `getrusage(RUSAGE_THREAD)` counts the handler's work (its
//! HTTP clients, SigV4, JSON, logging) and not moto (another process) or the fakes (other
//! threads).

use crate::rig::{Rig, lane_phone, press_1, sys_id, twilio_fake};
use crate::sys::thread_cpu;
use base64::Engine;
use escalation_adapters::twilio::event_stream::{EXECUTION_ENDED, KinesisBatch, decode};
use escalation_fakes::FaultRule;
use escalation_fakes::twilio::TwilioHandle;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Parallel trigger lanes used to set up a run (each lane's roster starts with its own
/// agent, so lanes never find each other's agent busy).
const SETUP_LANES: usize = 8;

#[derive(Debug, Clone)]
pub struct FlowRun {
    pub concurrency: u32,
    pub latency_ms: u64,
    pub records: usize,
    pub relevant: usize,
    pub wall: Duration,
    pub cpu: Duration,
    pub failures: usize,
    /// Context GETs the fake answered with 200 (one per relevant record expected).
    pub context_gets: usize,
    /// The handler's requests during the batch: AWS ones by label (see `count::label`),
    /// the Twilio fake's by method and last path segment.
    pub aws_calls: BTreeMap<String, usize>,
    pub twilio_calls: BTreeMap<String, usize>,
}

impl FlowRun {
    /// `relevant / concurrency × latency`: every relevant record waits once for the
    /// injected latency, `concurrency` at a time; everything else is free.
    pub fn ideal(&self) -> Duration {
        Duration::from_secs_f64(
            self.relevant as f64 / f64::from(self.concurrency) * self.latency_ms as f64 / 1e3,
        )
    }

    pub fn cpu_per_record(&self) -> Duration {
        self.cpu / self.records.max(1) as u32
    }
}

#[derive(Debug, Clone)]
pub struct LowerBound {
    pub records: usize,
    /// Best of several passes: base64 + JSON decoding of the whole batch.
    pub cpu: Duration,
    /// The handler's CPU time for the same batch without its `execution.ended` records
    /// (every record skipped after decoding, no I/O): best of several passes.
    pub skipped_records: usize,
    pub skipped_cpu: Duration,
}

impl LowerBound {
    pub fn per_record(&self) -> Duration {
        self.cpu / self.records.max(1) as u32
    }

    pub fn per_skipped_record(&self) -> Duration {
        self.skipped_cpu / self.skipped_records.max(1) as u32
    }
}

/// Run `f` on a new OS thread with its own current-thread runtime; await its result.
pub async fn on_own_thread<F, Fut, T>(f: F) -> T
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
    T: Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("handler".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("current-thread runtime");
            let _ = tx.send(rt.block_on(f()));
        })
        .expect("spawn handler thread");
    rx.await.expect("handler thread panicked")
}

/// Trigger `n` incidents through the real handler and complete their executions; returns
/// the `execution.ended` events (one per live escalation).
async fn live_escalations(rig: &Rig, twilio: &TwilioHandle, n: usize) -> Vec<Value> {
    let lanes = SETUP_LANES.min(n.max(1));
    let mut apps = Vec::new();
    for lane in 0..lanes {
        let phone = lane_phone(lane);
        twilio.script(&phone, press_1(0));
        let roster = rig.roster_file(&format!("lane{lane}"), &phone);
        let env = rig.env(
            &twilio.base_url(),
            &[
                ("ROSTER_PATH", roster.display().to_string()),
                ("TWILIO_CREATES_PER_SEC", "1000".into()),
            ],
        );
        apps.push(rig.functions(&env).await);
    }
    let per_lane = n.div_ceil(lanes);
    let work = apps.iter().enumerate().map(|(lane, app)| async move {
        let phone = lane_phone(lane);
        // The trigger answers before any call: the dialer's part (placing the queued first
        // call) is done here directly, through the same engine.
        let engine = app.parts.engine();
        let mut ended = Vec::new();
        for i in 0..per_lane {
            if lane * per_lane + i >= n {
                break;
            }
            let id = sys_id();
            let event = rig.trigger_event(&id, &format!("INC{:07}", lane * per_lane + i));
            let req = lambda_http::request::from_str(&event.to_string()).expect("URL event");
            let resp = app.trigger.handle(req).await.expect("trigger");
            assert_eq!(resp.status().as_u16(), 202, "setup trigger refused");
            let sys_id = escalation_core::model::SysId::parse(&id).expect("sys_id");
            let stored = engine.find(&sys_id).await.expect("load").expect("stored");
            engine.dial(stored).await.expect("first call placed");
            // The lane's agent has exactly one active execution: the one just created.
            let sid = twilio
                .executions()
                .into_iter()
                .rfind(|e| e.to == phone && e.status == "active")
                .expect("execution created")
                .sid;
            ended.push(twilio.complete(&sid).await.expect("active execution"));
        }
        ended
    });
    futures::future::join_all(work)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// The batch: `ended` plus `9 × ended.len()` events of other executions of our flow
/// (alternately `execution.started` and `step.ended`, `data` alternately an object and a
/// JSON string, as Event Streams sends them), shuffled with a fixed seed.
fn batch(twilio: &TwilioHandle, ended: Vec<Value>, others: usize, seed: u64) -> Value {
    let events = twilio.events();
    let template = |t: &str| {
        events
            .iter()
            .find(|e| e["type"] == t)
            .cloned()
            .unwrap_or_else(|| panic!("the fake emitted no {t}"))
    };
    let started = template("com.twilio.studio.flow.execution.started");
    let step = template("com.twilio.studio.flow.step.ended");
    let mut all: Vec<Value> = ended;
    for i in 0..others {
        let mut ev = if i % 2 == 0 {
            started.clone()
        } else {
            step.clone()
        };
        let mut data: Value = match &ev["data"] {
            Value::String(s) => serde_json::from_str(s).expect("data JSON"),
            v => v.clone(),
        };
        let exec = format!("FN{}", uuid::Uuid::new_v4().simple());
        data["execution_sid"] = json!(exec);
        ev["id"] = json!(format!("EZ{}", uuid::Uuid::new_v4().simple()));
        ev["data"] = if (i / 2) % 2 == 0 {
            data
        } else {
            Value::String(data.to_string())
        };
        all.push(ev);
    }
    fastrand::Rng::with_seed(seed).shuffle(&mut all);
    let records: Vec<Value> = all
        .iter()
        .enumerate()
        .map(|(i, ev)| {
            let seq = format!("4960000000000000000000000000000000000000{i:016}");
            escalation_devtools::esm::record_json(
                "arn:aws:kinesis:us-east-1:123456789012:stream/flow-events",
                &seq,
                ev["data"]["execution_sid"].as_str().unwrap_or("pk"),
                ev.to_string().as_bytes(),
            )
        })
        .collect();
    json!({ "Records": records })
}

/// One measured run: fresh escalations, fresh Twilio fake with `latency_ms` on every
/// Context GET, the handler with `FLOW_EVENTS_CONCURRENCY = concurrency`.
pub async fn run(
    rig: &Rig,
    relevant: usize,
    concurrency: u32,
    latency_ms: u64,
    seed: u64,
) -> (FlowRun, Value) {
    let twilio = twilio_fake(0, false).await;
    let ended = live_escalations(rig, &twilio, relevant).await;
    let event = batch(&twilio, ended, relevant * 9, seed);
    let records = event["Records"].as_array().map_or(0, Vec::len);
    // Start from an empty update queue (the consumer keeps draining during the run).
    rig.settle_queue().await;
    if latency_ms > 0 {
        twilio.inject(FaultRule {
            method: Some("GET".into()),
            path_contains: Some("/Context".into()),
            status: 0,
            delay_ms: latency_ms,
            times: u32::MAX,
            ..FaultRule::default()
        });
    }
    let env = rig.env(
        &twilio.base_url(),
        &[("FLOW_EVENTS_CONCURRENCY", concurrency.to_string())],
    );
    let payload = event.clone();
    let endpoint = rig.endpoint.clone();
    let twilio_before = twilio.requests().len();
    let (wall, cpu, response, aws_calls) = on_own_thread(move || async move {
        let rig_env = env;
        let app = crate::rig::functions(&endpoint, &rig_env).await;
        app.calls.reset();
        let cpu0 = thread_cpu();
        let t0 = Instant::now();
        let resp = app
            .flow_events
            .handle(LambdaEvent::new(payload, Context::default()))
            .await
            .expect("flow-events handler");
        let wall = t0.elapsed();
        let cpu = thread_cpu() - cpu0;
        (
            wall,
            cpu,
            serde_json::to_value(resp).expect("response JSON"),
            app.calls.counts(),
        )
    })
    .await;
    let twilio_calls = crate::count::twilio_labels(&twilio.requests()[twilio_before..]);
    let failures = response["batchItemFailures"].as_array().map_or(0, Vec::len);
    let context_gets = twilio
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/Context") && r.status == 200)
        .count();
    (
        FlowRun {
            concurrency,
            latency_ms,
            records,
            relevant,
            wall,
            cpu,
            failures,
            context_gets,
            aws_calls,
            twilio_calls,
        },
        event,
    )
}

/// The floor: only what every record costs anyway, base64 + JSON decoding of the same
/// batch with the handler's own decoder, on a fresh thread. Best of `passes`. Also the
/// handler itself on the batch's skipped records only (`env`: the functions' environment).
pub async fn lower_bound(
    event: Value,
    passes: usize,
    env: std::collections::HashMap<String, String>,
    endpoint: String,
) -> LowerBound {
    let event_for_skip = event.clone();
    let decode_only = on_own_thread(move || async move {
        let records = event["Records"].as_array().map_or(0, Vec::len);
        let mut best = Duration::MAX;
        for _ in 0..passes.max(1) {
            let input = event.clone();
            let cpu0 = thread_cpu();
            let batch: KinesisBatch = serde_json::from_value(input).expect("Kinesis batch");
            let mut ended = 0usize;
            for r in &batch.records {
                let bytes = r.kinesis.bytes().expect("base64");
                let ev = decode(&bytes).expect("CloudEvent");
                if let Some(Ok(_)) = ev.execution_ended() {
                    ended += 1;
                }
            }
            std::hint::black_box(ended);
            best = best.min(thread_cpu() - cpu0);
        }
        (records, best)
    })
    .await;
    let (records, cpu) = decode_only;
    // The handler on the records it skips: what a record that is not for us costs.
    let ended = EXECUTION_ENDED;
    let skipped: Vec<Value> = event_for_skip["Records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| {
            let data = r["kinesis"]["data"].as_str().unwrap_or_default();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .unwrap_or_default();
            decode(&bytes)
                .map(|e| e.event_type != ended)
                .unwrap_or(true)
        })
        .cloned()
        .collect();
    let skipped_records = skipped.len();
    let skipped_event = json!({ "Records": skipped });
    let skipped_cpu = on_own_thread(move || async move {
        let app = crate::rig::functions(&endpoint, &env).await;
        let mut best = Duration::MAX;
        for _ in 0..passes.max(1) {
            let input = skipped_event.clone();
            let cpu0 = thread_cpu();
            let resp = app
                .flow_events
                .handle(LambdaEvent::new(input, Context::default()))
                .await
                .expect("flow-events handler");
            std::hint::black_box(resp);
            best = best.min(thread_cpu() - cpu0);
        }
        best
    })
    .await;
    LowerBound {
        records,
        cpu,
        skipped_records,
        skipped_cpu,
    }
}

/// base64 of the whole batch's payload bytes, to report the batch size.
pub fn payload_bytes(event: &Value) -> usize {
    event["Records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["kinesis"]["data"].as_str())
        .map(|d| {
            base64::engine::general_purpose::STANDARD
                .decode(d)
                .map_or(0, |b| b.len())
        })
        .sum()
}
