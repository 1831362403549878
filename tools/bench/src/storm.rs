//! A storm: many incidents within a minute through the in-process stack (moto, both fakes,
//! the real handlers fed by the event-source stand-ins, the sweeper run periodically).
//! Checks the promises under load: nothing lost, nobody dialled twice for one attempt,
//! nobody on two calls at once, Studio creates within the configured rate.

use crate::probe::{called_attempts, first_rings, put_item_probe, trigger_containers};
use crate::stats::{human, max_in_window, max_overlap, parse_iso_millis, percentile};
use escalation_core::escalation::{Escalation, Status};
use escalation_devtools::stack::{Stack, StackOptions};
use escalation_devtools::timeline::html;
use escalation_fakes::twilio::AgentStep;
use escalation_lambda::handlers::Trigger;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// incident-trigger containers: separate instances (clients, connections), as Lambda runs
/// them in a storm.
pub const TRIGGER_CONTAINERS: usize = 4;
/// escalation-dialer containers: its mapping's MaximumConcurrency.
pub const DIALER_CONTAINERS: usize = 5;

#[derive(Debug, Clone)]
pub struct StormRun {
    pub incidents: usize,
    pub window: Duration,
    pub agents: usize,
    pub answer_ms: u64,
    pub busy_retry_secs: u32,
    /// Triggers handled at once (0: no limit).
    pub max_in_flight: usize,
    /// How long the bench waited after the last trigger answered.
    pub timeout: Duration,
    pub create_limit: u32,
    /// First trigger sent → last trigger answered.
    pub trigger_span: Duration,
    /// First trigger sent → every escalation terminal and the update queue empty.
    pub settled: Option<Duration>,
    pub trigger_p50: Duration,
    pub trigger_p99: Duration,
    /// The handler alone (from its slot to its answer).
    pub handler_p50: Duration,
    pub handler_p99: Duration,
    /// The triggers' AWS requests by label, each one's round trip.
    pub trigger_calls: BTreeMap<String, Vec<Duration>>,
    /// One conditional PutItem to the same moto, p99, probed during the storm's triggers.
    pub put_item_p99: Duration,
    /// Escalation created → its first Studio create received by the fake.
    pub first_ring_p50: Duration,
    pub first_ring_p99: Duration,
    pub trigger_statuses: HashMap<u16, usize>,
    pub accepted: usize,
    pub exhausted: usize,
    pub not_terminal: usize,
    pub missing_notes: usize,
    /// Incidents not terminal or with a missing note.
    pub lost: usize,
    pub executions: usize,
    pub duplicate_dials: usize,
    pub max_calls_per_agent: usize,
    pub max_creates_per_sec: usize,
    pub throttled_429: usize,
    pub conflicts_409: usize,
    pub notes: usize,
    pub sweeps: usize,
    /// Summed over the sweeps: attempts dialled, calls redriven, calls ended, errors.
    pub swept: [usize; 4],
    pub accept_p50: Duration,
    pub accept_p99: Duration,
    /// `BUNDLE_WINDOW_SECS` of the run (0: bundling off).
    pub bundle_window_secs: u32,
    /// Incidents carried by the calls placed: every execution's own incident and the
    /// others of a bundle call.
    pub incidents_called: usize,
}

impl StormRun {
    /// Studio executions per incident escalated.
    pub fn calls_per_incident(&self) -> f64 {
        self.executions as f64 / self.incidents.max(1) as f64
    }
}

fn roster(agents: usize) -> String {
    let agent_list: Vec<Value> = (0..agents)
        .map(|i| {
            json!({"name": format!("Agent {i:02}"), "phone_no": agent_phone(i), "role": "on call",
                   "index": i, "sn_user": format!("agent.{i:02}")})
        })
        .collect();
    json!({
        "agent_list": agent_list,
        "escalation_list": [
            {"name": "Duty Manager", "phone_no": "+15550499001", "role": "manager", "index": 0, "sn_user": "duty.manager"},
            {"name": "Head of Ops", "phone_no": "+15550499002", "role": "director", "index": 1, "sn_user": "head.ops"}
        ]
    })
    .to_string()
}

fn agent_phone(i: usize) -> String {
    format!("+1555040{i:04}")
}

fn event_data(ev: &Value) -> Value {
    match &ev["data"] {
        Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
        v => v.clone(),
    }
}

/// What storm to raise.
#[derive(Debug, Clone)]
pub struct StormPlan {
    pub incidents: usize,
    pub window: Duration,
    pub agents: usize,
    pub answer_ms: u64,
    /// Triggers handled at once (0: no limit).
    pub max_in_flight: usize,
    /// How long to wait after the last trigger answered.
    pub timeout: Duration,
    /// `BUNDLE_WINDOW_SECS` (0: bundling off).
    pub bundle_window_secs: u32,
}

pub async fn run(plan: &StormPlan, page: Option<&Path>) -> StormRun {
    let StormPlan {
        incidents,
        window,
        agents,
        answer_ms,
        max_in_flight,
        timeout,
        bundle_window_secs,
    } = plan.clone();
    let busy_retry_secs = 2;
    let stack = Arc::new(
        Stack::start(StackOptions {
            roster_json: roster(agents),
            env: vec![
                ("BUSY_RETRY_SECS", busy_retry_secs.to_string()),
                ("BUNDLE_WINDOW_SECS", bundle_window_secs.to_string()),
            ],
            auto_end: true,
            metrics: None,
        })
        .await,
    );
    let create_limit = stack.parts.dialer.client().create_rate();
    let answer = vec![AgentStep::Press {
        digit: "1".into(),
        after_ms: answer_ms,
    }];
    for i in 0..agents {
        stack.twilio.script(&agent_phone(i), answer.clone());
    }
    for p in ["+15550499001", "+15550499002"] {
        stack.twilio.script(p, answer.clone());
    }

    // The event source mappings and the schedule: one Kinesis poller (one shard), two SQS
    // pollers, the sweeper every 5 s.
    let stop = Arc::new(AtomicBool::new(false));
    let sweeps = Arc::new(AtomicUsize::new(0));
    // What the sweeps did, summed: [dialled, redriven, ended, errors].
    let swept = Arc::new(std::sync::Mutex::new([0usize; 4]));
    let mut pumps = Vec::new();
    {
        let (s, stop) = (stack.clone(), stop.clone());
        pumps.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if s.pump_kinesis().await.is_none() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }));
    }
    for _ in 0..2 {
        let (s, stop) = (stack.clone(), stop.clone());
        pumps.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if s.pump_sqs().await.is_none() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }));
    }
    for _ in 0..DIALER_CONTAINERS {
        let dialer = stack.container().dialer();
        let (s, stop) = (stack.clone(), stop.clone());
        pumps.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if s.pump_dials_on(&dialer).await.is_none() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }));
    }
    {
        let (s, stop, sweeps, swept) = (stack.clone(), stop.clone(), sweeps.clone(), swept.clone());
        pumps.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_secs(5)).await;
                if let Ok(r) = s.engine.sweep().await {
                    sweeps.fetch_add(1, Ordering::Relaxed);
                    let mut t = swept.lock().unwrap();
                    for (i, n) in [r.dialled, r.redriven, r.ended, r.errors]
                        .into_iter()
                        .enumerate()
                    {
                        t[i] += n;
                    }
                }
            }
        }));
    }

    // The storm: incident i is raised at i × window / incidents.
    let ids: Vec<String> = (0..incidents).map(|_| crate::rig::sys_id()).collect();
    let t0 = Instant::now();
    let start = tokio::time::Instant::now();
    // At most `max_in_flight` triggers are handled at once (a reserved concurrency): without
    // a cap, hundreds of handlers waiting for the create rate limit open so many
    // connections that moto stops accepting them (connect timeouts, answered 503).
    let in_flight = Arc::new(tokio::sync::Semaphore::new(if max_in_flight == 0 {
        tokio::sync::Semaphore::MAX_PERMITS
    } else {
        max_in_flight
    }));
    let (containers, trigger_calls) = trigger_containers(&stack, TRIGGER_CONTAINERS);
    let containers: Arc<Vec<Trigger>> = Arc::new(containers);
    let probing = Arc::new(AtomicBool::new(true));
    let probe = tokio::spawn(put_item_probe(stack.clone(), probing.clone()));
    let mut triggers = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let (s, id, in_flight) = (stack.clone(), id.clone(), in_flight.clone());
        let containers = containers.clone();
        let at = start + window.mul_f64(i as f64 / incidents.max(1) as f64);
        triggers.push(tokio::spawn(async move {
            tokio::time::sleep_until(at).await;
            let number = format!("INC{:07}", 5_000_000 + i);
            s.sn.add_incident(&id, &number, "Storm incident", "1");
            let body = json!({"sys_id": id, "number": number, "short_description": "Storm incident",
                "priority": "1", "assignment_group": null, "event_id": format!("storm-{i}")});
            let event = s.signed_event(&body.to_string(), "application/json");
            // Answer time counts from the incident's arrival, waiting for a slot included.
            let t = Instant::now();
            let _slot = in_flight.acquire().await.expect("semaphore");
            let handled = Instant::now();
            let trigger = &containers[i % TRIGGER_CONTAINERS];
            let (status, _) = s.invoke_trigger_on(trigger, &event).await;
            (t.elapsed(), handled.elapsed(), status)
        }))
    }
    let mut latencies = Vec::new();
    let mut handler_times = Vec::new();
    let mut trigger_statuses = HashMap::new();
    for t in triggers {
        let (d, handler, status) = t.await.expect("trigger task");
        latencies.push(d);
        handler_times.push(handler);
        *trigger_statuses.entry(status).or_insert(0) += 1;
    }
    let trigger_span = t0.elapsed();
    probing.store(false, Ordering::Relaxed);
    let put_items = probe.await.expect("probe");
    let trigger_calls = trigger_calls.snapshot();

    // Settle: every escalation terminal and the update queue drained.
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    let mut pending: BTreeSet<String> = ids.iter().cloned().collect();
    let mut settled = None;
    while t0.elapsed() < trigger_span + timeout {
        let mut done = Vec::new();
        for id in &pending {
            if stack
                .escalation(id)
                .await
                .is_some_and(|e| e.escalation.status().is_terminal())
            {
                done.push(id.clone());
            }
        }
        for id in done {
            pending.remove(&id);
        }
        if pending.is_empty()
            && escalation_devtools::esm::queue_depth(&sqs, &stack.resources.queue_url).await == 0
        {
            settled = Some(t0.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for p in pumps {
        let _ = p.await;
    }
    while stack.pump_sqs().await.is_some() {}

    // What happened.
    let mut accepted = 0;
    let mut exhausted = 0;
    let mut not_terminal = 0;
    let mut missing_notes = 0;
    let mut lost = 0;
    let mut notes = 0;
    let mut to_accept = Vec::new();
    let mut finished: Vec<Escalation> = Vec::new();
    for id in &ids {
        let Some(stored) = stack.escalation(id).await else {
            not_terminal += 1;
            lost += 1;
            continue;
        };
        let esc = stored.escalation;
        finished.push(esc.clone());
        let written = stack.sn.work_notes(id);
        notes += written.len();
        let mut keys = vec![format!("{}:started", esc.id())];
        keys.extend(
            esc.history()
                .iter()
                .map(|h| format!("{}:attempt:{}", esc.id(), h.number)),
        );
        let missing = keys
            .iter()
            .filter(|k| !written.iter().any(|n| n.contains(&format!("(ref {k})"))))
            .count();
        missing_notes += missing;
        match esc.status() {
            Status::Accepted => {
                accepted += 1;
                to_accept.push(Duration::from_millis(
                    esc.updated_at().saturating_sub(esc.created_at()),
                ));
            }
            Status::Exhausted | Status::Cancelled => exhausted += 1,
            Status::Active => not_terminal += 1,
        }
        if esc.status() == Status::Active || missing > 0 {
            lost += 1;
        }
    }

    let executions = stack.twilio.executions();
    // Every attempt a call was placed for: its own, and the other members of a bundle call
    // (`<escalation_id>:<sys_id>:<attempt>;…`).
    let mut per_attempt: HashMap<(String, u64), usize> = HashMap::new();
    let mut incidents_called = 0;
    let mut sizes: BTreeMap<usize, usize> = BTreeMap::new();
    for e in &executions {
        let called = called_attempts(e);
        *sizes.entry(called.len()).or_insert(0) += 1;
        for key in called {
            incidents_called += 1;
            *per_attempt.entry(key).or_insert(0) += 1;
        }
    }
    eprintln!("[bench] storm: calls by how many incidents each carried: {sizes:?}");
    let duplicate_dials = per_attempt.values().map(|n| n.saturating_sub(1)).sum();
    // Show a few duplicates, so a failure can be understood from the output alone.
    crate::probe::show_duplicates(&stack, &executions, &per_attempt).await;
    let ended: HashMap<String, u64> = stack
        .twilio
        .events()
        .iter()
        .filter(|ev| ev["type"] == "com.twilio.studio.flow.execution.ended")
        .filter_map(|ev| {
            let d = event_data(ev);
            Some((
                d["execution_sid"].as_str()?.to_string(),
                parse_iso_millis(d["date_updated"].as_str()?)?,
            ))
        })
        .collect();
    let now = escalation_adapters::clock::now_ms();
    let mut per_agent: HashMap<String, Vec<(u64, u64)>> = HashMap::new();
    for e in &executions {
        let end = ended.get(&e.sid).copied().unwrap_or(now);
        per_agent
            .entry(e.to.clone())
            .or_default()
            .push((e.created_at_ms, end));
    }
    let max_calls_per_agent = per_agent
        .values()
        .map(|v| max_overlap(v))
        .max()
        .unwrap_or(0);
    let created: Vec<u64> = executions.iter().map(|e| e.created_at_ms).collect();
    let first_rings = first_rings(&finished, &executions);
    let creates: Vec<_> = stack
        .twilio
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/Executions"))
        .collect();

    let run = StormRun {
        incidents,
        window,
        agents,
        answer_ms,
        busy_retry_secs,
        max_in_flight,
        timeout,
        create_limit,
        trigger_span,
        settled,
        trigger_p50: percentile(&latencies, 50.0),
        trigger_p99: percentile(&latencies, 99.0),
        handler_p50: percentile(&handler_times, 50.0),
        handler_p99: percentile(&handler_times, 99.0),
        trigger_calls,
        put_item_p99: percentile(&put_items, 99.0),
        first_ring_p50: percentile(&first_rings, 50.0),
        first_ring_p99: percentile(&first_rings, 99.0),
        trigger_statuses,
        accepted,
        exhausted,
        not_terminal,
        missing_notes,
        lost,
        executions: executions.len(),
        duplicate_dials,
        max_calls_per_agent,
        max_creates_per_sec: max_in_window(&created, 1000),
        throttled_429: creates.iter().filter(|r| r.status == 429).count(),
        conflicts_409: creates.iter().filter(|r| r.status == 409).count(),
        notes,
        sweeps: sweeps.load(Ordering::Relaxed),
        swept: *swept.lock().unwrap(),
        accept_p50: percentile(&to_accept, 50.0),
        accept_p99: percentile(&to_accept, 99.0),
        bundle_window_secs,
        incidents_called,
    };
    if let Some(path) = page {
        let headline = format!(
            "{} incidents within {} s, {} agents: {} accepted, {} exhausted, {} lost, {} duplicate dials; \
             time to accept p50 {}, p99 {}",
            run.incidents,
            run.window.as_secs(),
            run.agents,
            run.accepted,
            run.exhausted,
            run.lost,
            run.duplicate_dials,
            human(run.accept_p50),
            human(run.accept_p99)
        );
        let t0 = finished.iter().map(|e| e.created_at()).min().unwrap_or(0);
        let ok = crate::report::storm_ok(&run);
        match std::fs::write(path, html::many("storm", &headline, ok, &finished, t0)) {
            Ok(()) => eprintln!("[bench] storm timeline page: {}", path.display()),
            Err(e) => eprintln!("[bench] cannot write {}: {e}", path.display()),
        }
    }
    run
}
