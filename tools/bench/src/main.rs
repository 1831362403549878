//! Benchmark driver (run by `scripts/bench`, which starts moto and builds in release).
//!
//! Measures in one run: flow-events CPU per Kinesis record against a decode-only lower
//! bound, batch wall time against `relevant / concurrency × latency`, incident-trigger
//! latency, cold start / peak RSS / size of each Lambda binary, a storm through the
//! in-process stack, the hot path of a next call, and key press → assignment by
//! call-decision against the flow's end. Prints the tables, writes docs/PERFORMANCE.md and the chart.
//!
//! Settings (environment): `MOTO_ENDPOINT` (required), `BENCH_SCALE` (default 1: 10,000
//! records, 10,000 trigger requests, 1,000 storm incidents in 60 s), `BENCH_CONCURRENCY`
//! (default `1,8,32`), `BENCH_LATENCIES_MS` (default `0,50`), `BENCH_PHASES` (default
//! `cold,trigger,flow,hotpath,decision,storm`; `BENCH_DECISIONS`, default 200, accepts by
//! each path, not scaled; `BENCH_RINGS`, default 100, ring-all escalations in the same phase,
//! not scaled), `BENCH_BIN_DIR` (the release binaries), `BENCH_WRITE` (`0`
//! to leave docs/ alone; default: write when every phase ran), `BENCH_COLD_REPS` (3),
//! `BENCH_TRIGGER_LANES` (8), `BENCH_STORM_AGENTS` (50), `BENCH_STORM_ANSWER_MS` (100),
//! `BENCH_STORM_TIMEOUT_SECS` (150), `BENCH_STORM_MAX_IN_FLIGHT` (64; 0 = no limit),
//! `BENCH_STORM_BUNDLE_SECS` (10: the storm runs again with that bundle window; 0: not), `BENCH_LOG` (a file for the functions' JSON logs and
//! EMF lines, which otherwise go to /dev/null), `BENCH_STORM_HTML` (a file: the storm's calls as
//! one timeline page, lanes per person).

mod cold;
mod count;
mod decision;
mod flow;
mod hotpath;
mod probe;
mod report;
mod rig;
mod ring;
mod stats;
mod storm;
mod sys;
mod trigger;

use report::{Context, Results};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn number<T: std::str::FromStr>(name: &str, default: T) -> T {
    match var(name) {
        None => default,
        Some(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
    }
}

fn list<T: std::str::FromStr>(name: &str, default: &str) -> Vec<T> {
    var(name)
        .unwrap_or_else(|| default.to_string())
        .split(',')
        .map(|p| {
            p.trim()
                .parse()
                .unwrap_or_else(|_| panic!("{name}: {p:?} is not a number"))
        })
        .collect()
}

fn scaled(n: usize, scale: f64) -> usize {
    ((n as f64 * scale).round() as usize).max(1)
}

fn say(msg: &str) {
    eprintln!("[bench] {msg}");
}

#[tokio::main]
async fn main() {
    let started = Instant::now();
    let mut out = sys::divert_stdout(var("BENCH_LOG").map(PathBuf::from).as_deref());
    escalation_lambda::boot::init_logging();
    let load_before = sys::load_average();
    let endpoint = var("MOTO_ENDPOINT")
        .or_else(|| var("AWS_ENDPOINT_URL"))
        .expect("MOTO_ENDPOINT is not set: run scripts/bench, which starts moto");
    let scale: f64 = number("BENCH_SCALE", 1.0);
    let concurrency: Vec<u32> = list("BENCH_CONCURRENCY", "1,8,32");
    let latencies: Vec<u64> = list("BENCH_LATENCIES_MS", "0,50");
    let phases: Vec<String> = var("BENCH_PHASES")
        .unwrap_or_else(|| "cold,trigger,flow,hotpath,decision,storm".into())
        .split(',')
        .map(|p| p.trim().to_string())
        .collect();
    let all_phases = ["cold", "trigger", "flow", "hotpath", "decision", "storm"]
        .iter()
        .all(|p| phases.iter().any(|q| q == p));
    let write = var("BENCH_WRITE").map_or(all_phases, |v| v != "0");
    let root = escalation_devtools::local::workspace_root();
    let target = var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let bin_dir = var("BENCH_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| target.join("release"));
    let relevant = scaled(1000, scale);
    let trigger_requests = scaled(10_000, scale);
    let storm_incidents = scaled(1000, scale);
    let storm_window = Duration::from_secs_f64((60.0 * scale).max(1.0));
    let cold_reps: usize = number("BENCH_COLD_REPS", 3);
    let trigger_lanes: usize = number("BENCH_TRIGGER_LANES", 8);
    let storm_agents: usize = number("BENCH_STORM_AGENTS", 50);
    let storm_answer_ms: u64 = number("BENCH_STORM_ANSWER_MS", 100);
    let storm_timeout = Duration::from_secs(number("BENCH_STORM_TIMEOUT_SECS", 150));
    let storm_in_flight: usize = number("BENCH_STORM_MAX_IN_FLIGHT", 64);
    let storm_bundle_secs: u32 = number("BENCH_STORM_BUNDLE_SECS", 10);
    let default_concurrency = escalation_lambda::config::flow_events_concurrency(
        &[
            ("TWILIO_FLOW_SID", "FW0123456789abcdef0123456789abcdef"),
            ("TWILIO_FROM_NUMBER", "+15550109999"),
            ("ESCALATIONS_TABLE", "t"),
            ("SN_UPDATES_QUEUE_URL", "http://127.0.0.1/q.fifo"),
            ("SECRETS_ARN", "arn"),
            ("SERVICENOW_INSTANCE_URL", "http://127.0.0.1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
    )
    .expect("default config");

    let rig = Arc::new(rig::Rig::start(&endpoint).await);
    let mut results = Results {
        flow: Vec::new(),
        lower: None,
        batch_bytes: 0,
        default_concurrency,
        trigger: Vec::new(),
        cold: Vec::new(),
        artifacts: Vec::new(),
        storm: None,
        storm_bundled: None,
        hotpath: None,
        decision: None,
        ring: None,
    };
    let mut failed = Vec::new();
    let has = |p: &str| phases.iter().any(|q| q == p);

    if has("cold") {
        say(&format!(
            "cold start: {cold_reps} × {} binaries from {}",
            cold::BINARIES.len(),
            bin_dir.display()
        ));
        results.artifacts = cold::artifacts(
            &bin_dir,
            &[root.join("target/lambda"), target.join("lambda")],
            &rig.dir,
        );
        match cold::run(&rig, &bin_dir, cold_reps).await {
            Ok(runs) => results.cold = runs,
            Err(e) => {
                say(&format!("cold start failed: {e}"));
                failed.push("cold start".to_string());
            }
        }
    }
    if has("trigger") {
        let unloaded = scaled(500, scale);
        say(&format!(
            "incident-trigger: {unloaded} requests one at a time, then {trigger_requests}, {trigger_lanes} at a time"
        ));
        let one = trigger::run(rig.clone(), unloaded, 1).await;
        let t = trigger::run(rig.clone(), trigger_requests, trigger_lanes).await;
        for run in [&one, &t] {
            say(&format!(
                "  {} at a time: p50 {} p99 {}, {} CPU per request",
                run.lanes,
                stats::human(stats::percentile(&run.latencies, 50.0)),
                stats::human(stats::percentile(&run.latencies, 99.0)),
                stats::human(run.cpu / run.requests.max(1) as u32)
            ));
            if run.statuses.keys().any(|s| *s != 202) {
                failed.push(format!("trigger answers {:?}", run.statuses));
            }
        }
        results.trigger = vec![one, t];
    }
    if has("flow") {
        let mut seed = 1;
        for &c in &concurrency {
            for &l in &latencies {
                say(&format!(
                    "flow-events: {} records ({relevant} relevant), concurrency {c}, latency {l} ms",
                    relevant * 10
                ));
                let (run, event) = flow::run(&rig, relevant, c, l, seed).await;
                seed += 1;
                say(&format!(
                    "  wall {} cpu {} ({} per record), failures {}, context GETs {}",
                    stats::human(run.wall),
                    stats::human(run.cpu),
                    stats::human(run.cpu_per_record()),
                    run.failures,
                    run.context_gets
                ));
                if run.failures > 0 || run.context_gets != run.relevant {
                    failed.push(format!(
                        "flow-events c={c} l={l}: {} failures, {} of {} contexts",
                        run.failures, run.context_gets, run.relevant
                    ));
                }
                if results.lower.is_none() {
                    results.batch_bytes = flow::payload_bytes(&event);
                    let env = rig.env("http://127.0.0.1:9", &[]);
                    let lb = flow::lower_bound(event, 5, env, rig.endpoint.clone()).await;
                    say(&format!(
                        "  lower bound {} per record; handler on skipped records {} per record",
                        stats::human(lb.per_record()),
                        stats::human(lb.per_skipped_record())
                    ));
                    results.lower = Some(lb);
                }
                results.flow.push(run);
            }
        }
    }
    if has("hotpath") {
        let n = scaled(200, scale);
        say(&format!(
            "hot path: {n} flow ends → next create, one at a time"
        ));
        let h = hotpath::run(n).await;
        say(&format!(
            "  p50 {} p99 {}, {} next calls missing",
            stats::human(stats::percentile(&h.total, 50.0)),
            stats::human(stats::percentile(&h.total, 99.0)),
            h.missing
        ));
        if h.missing > 0 {
            failed.push(format!("hot path: {} next calls not placed", h.missing));
        }
        results.hotpath = Some(h);
    }
    if has("decision") {
        let n: usize = number("BENCH_DECISIONS", 200);
        say(&format!(
            "key press → assignment PATCH: {n} accepts through call-decision and {n} through the flow's end, in turn"
        ));
        let d = decision::run(n).await;
        say(&format!(
            "  call-decision p50 {} p99 {}; flow end p50 {} p99 {}; {} missing",
            stats::human(stats::percentile(&d.live, 50.0)),
            stats::human(stats::percentile(&d.live, 99.0)),
            stats::human(stats::percentile(&d.flow_end, 50.0)),
            stats::human(stats::percentile(&d.flow_end, 99.0)),
            d.missing
        ));
        if d.missing > 0 {
            failed.push(format!(
                "key press → assignment: {} PATCHes missing",
                d.missing
            ));
        }
        results.decision = Some(d);
        let rings: usize = number("BENCH_RINGS", 100);
        say(&format!(
            "ring-all: winning press → both losers hung up, {rings} escalations of three"
        ));
        let r = ring::run(rings).await;
        say(&format!(
            "  p50 {} p99 {}; one PutItem p50 {}; {} missing",
            stats::human(stats::percentile(&r.hung_up, 50.0)),
            stats::human(stats::percentile(&r.hung_up, 99.0)),
            stats::human(stats::percentile(&r.put_item, 50.0)),
            r.missing
        ));
        if r.missing > 0 {
            failed.push(format!(
                "ring-all: {} escalations' losers not hung up",
                r.missing
            ));
        }
        results.ring = Some(r);
    }
    if has("storm") {
        // The storm has its own stack and queue; stop draining ours.
        rig.stop_consumer
            .store(true, std::sync::atomic::Ordering::Relaxed);
        say(&format!(
            "storm: {storm_incidents} incidents within {} s, {storm_agents} agents",
            storm_window.as_secs()
        ));
        let mut plan = storm::StormPlan {
            incidents: storm_incidents,
            window: storm_window,
            agents: storm_agents,
            answer_ms: storm_answer_ms,
            max_in_flight: storm_in_flight,
            timeout: storm_timeout,
            bundle_window_secs: 0,
        };
        let st = storm::run(&plan, var("BENCH_STORM_HTML").map(PathBuf::from).as_deref()).await;
        if !report::storm_ok(&st) {
            failed.push("storm promises".to_string());
        }
        results.storm = Some(st);
        if storm_bundle_secs > 0 {
            say(&format!(
                "storm again, bundling on (BUNDLE_WINDOW_SECS={storm_bundle_secs})"
            ));
            plan.bundle_window_secs = storm_bundle_secs;
            let st = storm::run(&plan, None).await;
            if !report::storm_ok(&st) {
                failed.push("bundled storm promises".to_string());
            }
            results.storm_bundled = Some(st);
        }
    }

    let tables = report::tables(&results);
    sys::print_to(&mut out, &tables);
    let total = started.elapsed();
    if write {
        let chart_file = "bench-batch-time.svg".to_string();
        let docs = root.join("docs");
        let ctx = Context {
            date: escalation_core::time::format_utc(escalation_adapters::clock::now_ms()),
            machine: sys::machine(),
            load_before,
            load_after: sys::load_average(),
            rustc: std::process::Command::new("rustc")
                .arg("-V")
                .output()
                .ok()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_else(|| "rustc (unknown)".into()),
            command: var("BENCH_COMMAND").unwrap_or_else(|| "bash scripts/bench".into()),
            settings: vec![
                ("BENCH_SCALE".into(), scale.to_string()),
                (
                    "BENCH_CONCURRENCY".into(),
                    concurrency
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                ),
                (
                    "BENCH_LATENCIES_MS".into(),
                    latencies
                        .iter()
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                ),
                (
                    "FLOW_EVENTS_CONCURRENCY default".into(),
                    default_concurrency.to_string(),
                ),
            ],
            total,
            chart_file: chart_file.clone(),
        };
        if !results.flow.is_empty() {
            std::fs::write(docs.join(&chart_file), report::chart(&results.flow))
                .expect("write chart");
        }
        std::fs::write(
            docs.join("PERFORMANCE.md"),
            report::markdown(&results, &ctx),
        )
        .expect("write docs/PERFORMANCE.md");
        say("wrote docs/PERFORMANCE.md and docs/bench-batch-time.svg");
    }
    say(&format!("done in {}", stats::human(total)));
    if !failed.is_empty() {
        say(&format!("FAILED: {}", failed.join("; ")));
        std::process::exit(1);
    }
}
