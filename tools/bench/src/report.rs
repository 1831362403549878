//! The printed table, docs/PERFORMANCE.md and the batch-time chart (SVG, no dependencies).

use crate::cold::{Artifact, ColdRun};
use crate::flow::{FlowRun, LowerBound};
use crate::stats::{human, mb, percentile, sig3};
use crate::storm::StormRun;
use crate::sys::Machine;
use crate::trigger::TriggerRun;
use std::fmt::Write;
use std::time::Duration;

/// Everything one bench run measured (a phase that was not run is `None`/empty).
pub struct Results {
    pub flow: Vec<FlowRun>,
    pub lower: Option<LowerBound>,
    pub batch_bytes: usize,
    pub default_concurrency: u32,
    /// incident-trigger runs: unloaded (one at a time) and under load.
    pub trigger: Vec<TriggerRun>,
    pub cold: Vec<ColdRun>,
    pub artifacts: Vec<Artifact>,
    pub storm: Option<StormRun>,
}

pub struct Context {
    pub date: String,
    pub machine: Machine,
    pub load_before: String,
    pub load_after: String,
    pub rustc: String,
    pub command: String,
    pub settings: Vec<(String, String)>,
    pub total: Duration,
    pub chart_file: String,
}

fn ratio(a: Duration, b: Duration) -> String {
    if b.is_zero() {
        "—".into()
    } else {
        format!("{}×", sig3(a.as_secs_f64() / b.as_secs_f64()))
    }
}

/// How many Context waits were in flight on average over the batch: `relevant × latency`
/// divided by the batch wall time. At most `concurrency`; it falls short by what the rest
/// of the work (moto round trips) adds. `None` without injected latency.
pub fn effective_concurrency(f: &FlowRun) -> Option<f64> {
    let wall = f.wall.as_secs_f64();
    (f.latency_ms > 0 && wall > 0.0).then(|| f.relevant as f64 * f.latency_ms as f64 / 1e3 / wall)
}

fn check(ok: bool) -> &'static str {
    if ok { "ok" } else { "**FAILED**" }
}

fn median(v: &[Duration]) -> Duration {
    percentile(v, 50.0)
}

/// The tables, in Markdown (printed as is and written into PERFORMANCE.md).
pub fn tables(r: &Results) -> String {
    let mut s = String::new();
    if !r.flow.is_empty() {
        let lb = r.lower.as_ref();
        let _ = writeln!(
            s,
            "### flow-events: one batch of {} Kinesis records ({} execution.ended for live escalations)\n",
            r.flow[0].records, r.flow[0].relevant
        );
        let _ = writeln!(
            s,
            "| concurrency | injected latency | CPU per record | × lower bound | batch wall time | ideal | × ideal | effective concurrency | failures |"
        );
        let _ = writeln!(s, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for f in &r.flow {
            let _ = writeln!(
                s,
                "| {}{} | {} ms | {} | {} | {} | {} | {} | {} | {} |",
                f.concurrency,
                if f.concurrency == r.default_concurrency {
                    " (default)"
                } else {
                    ""
                },
                f.latency_ms,
                human(f.cpu_per_record()),
                lb.map_or("—".into(), |l| ratio(f.cpu_per_record(), l.per_record())),
                human(f.wall),
                if f.latency_ms == 0 {
                    "0".into()
                } else {
                    human(f.ideal())
                },
                ratio(f.wall, f.ideal()),
                effective_concurrency(f).map_or("—".into(), sig3),
                f.failures + f.relevant.saturating_sub(f.context_gets),
            );
        }
        if let Some(l) = lb {
            let _ = writeln!(
                s,
                "\nThe handler on the same batch without its execution.ended records (every record skipped after decoding, no I/O): {} per record ({} × lower bound).",
                human(l.per_skipped_record()),
                ratio(l.per_skipped_record(), l.per_record()).trim_end_matches('×')
            );
            let _ = writeln!(
                s,
                "\nLower bound (base64 + JSON decoding of the same batch with `KinesisBatch` + `decode`, best of 5): {} per record, {} for the batch ({} of record payload).",
                human(l.per_record()),
                human(l.cpu),
                mb(r.batch_bytes as u64)
            );
        }
        s.push('\n');
    }
    if !r.trigger.is_empty() {
        let _ = writeln!(
            s,
            "### incident-trigger: signed requests through the handler\n"
        );
        let head: Vec<String> = r
            .trigger
            .iter()
            .map(|t| format!("{} requests, {} at a time", t.requests, t.lanes))
            .collect();
        let _ = writeln!(s, "| measure | {} |", head.join(" | "));
        let _ = writeln!(s, "|---|{}", "---:|".repeat(r.trigger.len()));
        type Cell = Box<dyn Fn(&TriggerRun) -> String>;
        let rows: Vec<(&str, Cell)> = vec![
            (
                "handler latency p50",
                Box::new(|t| human(percentile(&t.latencies, 50.0))),
            ),
            (
                "handler latency p99",
                Box::new(|t| human(percentile(&t.latencies, 99.0))),
            ),
            (
                "handler latency max",
                Box::new(|t| human(percentile(&t.latencies, 100.0))),
            ),
            (
                "CPU per request (handler thread)",
                Box::new(|t| human(t.cpu / t.requests.max(1) as u32)),
            ),
            (
                "throughput",
                Box::new(|t| {
                    format!(
                        "{} requests/s",
                        sig3(t.requests as f64 / t.wall.as_secs_f64())
                    )
                }),
            ),
            (
                "answers",
                Box::new(|t| {
                    t.statuses
                        .iter()
                        .map(|(k, v)| format!("{v} × {k}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }),
            ),
            (
                "Studio creates answered 409 / 429",
                Box::new(|t| format!("{} / {}", t.conflicts, t.throttled)),
            ),
            (
                "reference: DynamoDB GetItem round trip to moto, p50",
                Box::new(|t| human(t.moto_get_p50)),
            ),
        ];
        for (name, cell) in rows {
            let cells: Vec<String> = r.trigger.iter().map(&cell).collect();
            let _ = writeln!(s, "| {name} | {} |", cells.join(" | "));
        }
        s.push('\n');
    }
    if !r.cold.is_empty() || !r.artifacts.is_empty() {
        let reps = r
            .cold
            .iter()
            .filter(|c| c.binary == r.cold[0].binary)
            .count();
        let _ = writeln!(
            s,
            "### Cold start under a Lambda Runtime API emulator (median of {reps})\n"
        );
        let _ = writeln!(
            s,
            "| binary | start → first invocation answered | start → first poll (init) | peak RSS | size |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|");
        for a in &r.artifacts {
            let runs: Vec<&ColdRun> = r.cold.iter().filter(|c| c.binary == a.binary).collect();
            let total: Vec<Duration> = runs.iter().map(|c| c.total).collect();
            let init: Vec<Duration> = runs.iter().map(|c| c.init).collect();
            let rss = runs.iter().map(|c| c.max_rss_kib).max().unwrap_or(0);
            let size = match a.zipped_here {
                Some(z) => format!("{} ({} zipped)", mb(a.bytes), mb(z)),
                None => mb(a.bytes),
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                a.binary,
                if runs.is_empty() {
                    "—".into()
                } else {
                    human(median(&total))
                },
                if runs.is_empty() {
                    "—".into()
                } else {
                    human(median(&init))
                },
                if runs.is_empty() {
                    "—".into()
                } else {
                    format!("{:.1} MiB", rss as f64 / 1024.0)
                },
                size
            );
        }
        if let Some(a) = r.artifacts.first() {
            let _ = writeln!(s, "\nSize: {}.", a.kind);
        }
        s.push('\n');
    }
    if let Some(st) = &r.storm {
        let _ = writeln!(
            s,
            "### Storm: {} incidents within {} s, {} agents (answer after {} ms, press 1), BUSY_RETRY_SECS={}, at most {} triggers handled at once\n",
            st.incidents,
            st.window.as_secs(),
            st.agents,
            st.answer_ms,
            st.busy_retry_secs,
            if st.max_in_flight == 0 {
                "unlimited".to_string()
            } else {
                st.max_in_flight.to_string()
            }
        );
        let _ = writeln!(s, "| measure | value | expected | |");
        let _ = writeln!(s, "|---|---:|---:|---|");
        let _ = writeln!(
            s,
            "| lost (not terminal, or a work note missing) | {} | 0 | {} |",
            st.lost,
            check(st.lost == 0)
        );
        let _ = writeln!(
            s,
            "| not terminal {} s after the last trigger answered | {} | 0 | {} |",
            st.timeout.as_secs(),
            st.not_terminal,
            check(st.not_terminal == 0)
        );
        let _ = writeln!(
            s,
            "| duplicate dials (same escalation + attempt) | {} | 0 | {} |",
            st.duplicate_dials,
            check(st.duplicate_dials == 0)
        );
        let _ = writeln!(
            s,
            "| max concurrent calls per agent | {} | ≤ 1 | {} |",
            st.max_calls_per_agent,
            check(st.max_calls_per_agent <= 1)
        );
        let _ = writeln!(
            s,
            "| max Studio executions created in any 1 s | {} | ≤ {} | {} |",
            st.max_creates_per_sec,
            st.create_limit,
            check(st.max_creates_per_sec <= st.create_limit as usize)
        );
        let _ = writeln!(
            s,
            "| 429 answers from the Twilio fake | {} | 0 | {} |",
            st.throttled_429,
            check(st.throttled_429 == 0)
        );
        let _ = writeln!(
            s,
            "| work notes missing (start or an attempt) | {} | 0 | {} |",
            st.missing_notes,
            check(st.missing_notes == 0)
        );
        let mut answers: Vec<(&u16, &usize)> = st.trigger_statuses.iter().collect();
        answers.sort();
        let answers: Vec<String> = answers.iter().map(|(k, v)| format!("{v} × {k}")).collect();
        let _ = writeln!(
            s,
            "| trigger answers | {} | all 202 | |",
            answers.join(", ")
        );
        let _ = writeln!(
            s,
            "| 409 answers (agent on another call) | {} | — | |",
            st.conflicts_409
        );
        let _ = writeln!(
            s,
            "| accepted / exhausted / still active | {} / {} / {} | | |",
            st.accepted, st.exhausted, st.not_terminal
        );
        let _ = writeln!(
            s,
            "| Studio executions / work notes written | {} / {} | | |",
            st.executions, st.notes
        );
        let _ = writeln!(
            s,
            "| trigger answer p50 / p99 (from arrival; includes the create rate limit) | {} / {} | | |",
            human(st.trigger_p50),
            human(st.trigger_p99)
        );
        let _ = writeln!(
            s,
            "| time to accept p50 / p99 | {} / {} | | |",
            human(st.accept_p50),
            human(st.accept_p99)
        );
        let _ = writeln!(
            s,
            "| triggers sent in / everything settled after | {} / {} | | |",
            human(st.trigger_span),
            st.settled.map_or("did not settle".into(), human)
        );
        let _ = writeln!(
            s,
            "| sweeps run (attempts dialled / calls redriven / ended / errors) | {} ({} / {} / {} / {}) | | |",
            st.sweeps, st.swept[0], st.swept[1], st.swept[2], st.swept[3]
        );
        s.push('\n');
    }
    s
}

/// True when every storm promise held (the bench exits non-zero otherwise).
pub fn storm_ok(st: &StormRun) -> bool {
    st.lost == 0
        && st.duplicate_dials == 0
        && st.max_calls_per_agent <= 1
        && st.max_creates_per_sec <= st.create_limit as usize
        && st.throttled_429 == 0
}

const COLORS: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
];

/// Round up to 1, 2 or 5 × 10^n.
fn nice(x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|v| *v >= x)
        .unwrap_or(10.0 * p)
}

/// Batch wall time against injected latency, one solid line per concurrency, the ideal
/// `relevant / concurrency × latency` dashed in the same colour.
pub fn chart(flow: &[FlowRun]) -> String {
    let (w, h) = (760.0, 460.0);
    let (left, right, top, bottom) = (70.0, 190.0, 50.0, 60.0);
    let pw = w - left - right;
    let ph = h - top - bottom;
    let mut conc: Vec<u32> = flow.iter().map(|f| f.concurrency).collect();
    conc.sort_unstable();
    conc.dedup();
    let xmax = flow.iter().map(|f| f.latency_ms).max().unwrap_or(1).max(1) as f64;
    let ymax_raw = flow
        .iter()
        .map(|f| f.wall.as_secs_f64().max(f.ideal().as_secs_f64()))
        .fold(0.0, f64::max);
    let ystep = nice(ymax_raw / 5.0);
    let ymax = (ymax_raw / ystep).ceil().max(1.0) * ystep;
    let x = |ms: f64| left + ms / xmax * pw;
    let y = |s: f64| top + ph - s / ymax * ph;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let records = flow.first().map_or(0, |f| f.records);
    let relevant = flow.first().map_or(0, |f| f.relevant);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="24" font-size="15" font-weight="bold">flow-events: wall time of one {records}-record batch ({relevant} relevant)</text>"#,
        left
    );
    // Grid and y ticks.
    let mut v = 0.0;
    while v <= ymax + 1e-9 {
        let yy = y(v);
        let _ = writeln!(
            s,
            r##"<line x1="{left}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#e0e0e0"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            left + pw,
            left - 8.0,
            yy + 4.0,
            sig3(v).trim_end_matches('0').trim_end_matches('.')
        );
        v += ystep;
    }
    let mut lat: Vec<u64> = flow.iter().map(|f| f.latency_ms).collect();
    lat.sort_unstable();
    lat.dedup();
    for l in &lat {
        let xx = x(*l as f64);
        let _ = writeln!(
            s,
            r##"<line x1="{xx:.1}" y1="{top}" x2="{xx:.1}" y2="{:.1}" stroke="#f0f0f0"/><text x="{xx:.1}" y="{:.1}" text-anchor="middle">{l}</text>"##,
            top + ph,
            top + ph + 18.0
        );
    }
    let _ = writeln!(
        s,
        r##"<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>"##
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">injected latency on Twilio Context GET (ms)</text>"#,
        left + pw / 2.0,
        h - 18.0
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(20 {:.1}) rotate(-90)" text-anchor="middle">batch wall time (s)</text>"#,
        top + ph / 2.0
    );
    for (i, c) in conc.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let mut runs: Vec<&FlowRun> = flow.iter().filter(|f| f.concurrency == *c).collect();
        runs.sort_by_key(|f| f.latency_ms);
        let measured: Vec<String> = runs
            .iter()
            .map(|f| {
                format!(
                    "{:.1},{:.1}",
                    x(f.latency_ms as f64),
                    y(f.wall.as_secs_f64())
                )
            })
            .collect();
        let ideal: Vec<String> = runs
            .iter()
            .map(|f| {
                format!(
                    "{:.1},{:.1}",
                    x(f.latency_ms as f64),
                    y(f.ideal().as_secs_f64())
                )
            })
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2" stroke-dasharray="6 4"/>"#,
            ideal.join(" ")
        );
        let _ = writeln!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2.5"/>"#,
            measured.join(" ")
        );
        for f in &runs {
            let _ = writeln!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{color}"><title>concurrency {c}, {} ms: {}</title></circle>"#,
                x(f.latency_ms as f64),
                y(f.wall.as_secs_f64()),
                f.latency_ms,
                human(f.wall)
            );
        }
        let ly = top + 20.0 + i as f64 * 40.0;
        let lx = left + pw + 20.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{color}" stroke-width="2.5"/><text x="{}" y="{}">concurrency {c}: measured</text>"#,
            lx + 28.0,
            lx + 34.0,
            ly + 4.0
        );
        let _ = writeln!(
            s,
            r#"<line x1="{lx}" y1="{}" x2="{}" y2="{}" stroke="{color}" stroke-width="2" stroke-dasharray="6 4"/><text x="{}" y="{}">ideal</text>"#,
            ly + 16.0,
            lx + 28.0,
            ly + 16.0,
            lx + 34.0,
            ly + 20.0
        );
    }
    let _ = writeln!(
        s,
        r##"<text x="{:.1}" y="{:.1}" font-size="11" fill="#555">ideal = relevant / concurrency × latency</text>"##,
        left + pw + 20.0,
        top + 20.0 + conc.len() as f64 * 40.0 + 10.0
    );
    s.push_str("</svg>\n");
    s
}

/// docs/PERFORMANCE.md.
pub fn markdown(r: &Results, ctx: &Context) -> String {
    let mut s = String::new();
    let m = &ctx.machine;
    let _ = writeln!(s, "# Performance\n");
    let _ = writeln!(
        s,
        "Measured speed and cost of the escalation functions, generated by `scripts/bench` \
         (driver: `tools/bench`). Every number comes from one run on the machine below; \
         compare the ratios, not the absolute times, across machines. Nothing here is \
         asserted as a wall-clock limit in tests.\n"
    );
    let _ = writeln!(s, "- Date: {}", ctx.date);
    let _ = writeln!(
        s,
        "- Machine: {} CPUs ({}), {:.1} GiB RAM, Linux {}",
        m.cpus, m.model, m.ram_gib, m.kernel
    );
    let _ = writeln!(
        s,
        "- Load average (1/5/15 min) before / after: {} / {} (other load on the machine makes absolute times noisy; compare ratios)",
        ctx.load_before, ctx.load_after
    );
    let _ = writeln!(
        s,
        "- Toolchain: {}; release profile of the workspace",
        ctx.rustc
    );
    let _ = writeln!(
        s,
        "- Command: `{}` (total {})",
        ctx.command,
        human(ctx.total)
    );
    let settings: Vec<String> = ctx
        .settings
        .iter()
        .map(|(k, v)| format!("`{k}={v}`"))
        .collect();
    let _ = writeln!(s, "- Settings: {}\n", settings.join(", "));
    let _ = writeln!(s, "## Results\n");
    s.push_str(&tables(r));
    if !r.flow.is_empty() {
        let _ = writeln!(
            s,
            "![flow-events batch wall time against injected latency]({})\n",
            ctx.chart_file
        );
    }
    s.push_str(METHOD);
    s
}

const METHOD: &str = r#"## How each number is measured

**flow-events CPU per record.** Per run, the relevant incidents are raised through the
real incident-trigger handler against the Twilio fake with `auto_end: false`; each execution
is then completed at the fake, which yields its real `execution.ended` CloudEvent. The batch
is those events plus nine times as many `execution.started` / `step.ended` events of other
executions of the same flow (`data` alternately an object and a JSON string), shuffled. The
handler (`handlers::flow_events::handle`, with the production retry policy, JSON logging on
and `FLOW_EVENTS_CONCURRENCY` set) runs on its own OS thread with a current-thread tokio
runtime; the figure is that thread's `getrusage(RUSAGE_THREAD)` user + system time for the
invocation, divided by the record count. moto runs in another process and the fakes on other
threads, so their CPU is not counted; the handler's HTTP clients, SigV4 signing, JSON, logs
and EMF lines (stdout goes to /dev/null) are. Per relevant record the handler does: dedupe
GetItem, Context GET (with the injected latency), escalation GetItem, SQS SendMessageBatch,
conditional PutItem, mark PutItem. The **lower bound** is the cost every record pays anyway:
`cloudevent::KinesisBatch` deserialisation, base64 and `cloudevent::decode` of the same batch,
on a fresh thread, best of five passes.

**Batch wall time vs ideal.** Latency is injected with a `FaultRule { status: 0, delay_ms }`
on the Twilio fake's Context GET. The ideal is `relevant / concurrency × latency`: only the
Context GET is slowed, so a perfect handler would overlap those waits `concurrency` at a
time and spend nothing else. The ratio shows what the rest (moto round trips, serial parts)
adds; at 0 ms the ideal is zero and the wall time is the floor set by moto (one Python
process: more concurrent requests make that floor higher, not lower). **Effective
concurrency** is `relevant × latency / wall time`: how many Context waits were in flight on
average over the whole batch; `concurrency` is its ceiling.

**incident-trigger latency.** Signed function-URL events (HMAC over `timestamp.body`) go to
`handlers::trigger::handle`: signature check, replay mark (conditional PutItem), escalation
(conditional PutItem), "started" message (SQS), Studio create at the fake, state PutItem.
Requests run in parallel lanes, one app per lane (as separate containers), each lane's roster
starting with its own agent, so no request finds its agent busy. The fake's rate limit is off
and `TWILIO_CREATES_PER_SEC=1000` (the maximum), so the limiter never waits. All lanes share
one current-thread runtime thread; CPU per request is that thread's CPU time (minus signing
the requests) over the request count. The moto GetItem round trip is given for scale: most
of the latency is moto's.

**Cold start.** A minimal Lambda Runtime API in the driver (`GET …/invocation/next` answers
once with `Lambda-Runtime-Aws-Request-Id`, `Lambda-Runtime-Deadline-Ms` and
`Lambda-Runtime-Invoked-Function-Arn`; `POST …/response` is timed) and the release binary
spawned with `AWS_LAMBDA_RUNTIME_API` and the functions' environment. Boot includes the
Secrets Manager fetch from moto. The first invocations do real work: the trigger starts an
escalation, flow-events applies that call's end, the updater writes an acceptance to the
incident (user lookup, PATCH), the sweeper sweeps, voice-inbound checks a signed call
webhook and answers with its menu (TwiML). Peak RSS is the child's `ru_maxrss` from `wait4`.
Lambda's own sandbox start-up (microVM, download of the zip) is not included. This emulator
is the bench's own (it times the first response to the microsecond); `cargo lambda watch`,
which the demo and the local stack test use, adds its own start-up and a `cargo run` per
function.

**Storm.** The in-process stack (`escalation_devtools::stack::Stack`: moto, both fakes, the
real handlers fed by the event-source stand-ins; Twilio fake rate limit 20/s as Studio's)
with a roster of 50 agents who answer and press 1. Every escalation starts with the same
first agent, as a real roster does. Incidents arrive evenly over the window; at most
`BENCH_STORM_MAX_IN_FLIGHT` triggers are handled at once (without a cap, hundreds of
handlers waiting for the create rate limit open more connections than moto accepts, and
their DynamoDB calls fail with connect timeouts). One Kinesis poller (one shard), two SQS
pollers and the sweeper every 5 s run meanwhile. One app serves all functions here, so one
rate limiter covers every Studio create, as Twilio's account limit does. Afterwards: every
escalation must be terminal and have a work note for its start and for every attempt
(`(ref <key>)`), no Studio execution may repeat an escalation + attempt, no agent may have
two executions whose lifetimes (created → `execution.ended`) overlap, and no 1 s window may
hold more executions than `TWILIO_CREATES_PER_SEC`. Everything in this stack shares one
moto server, which sustains a few hundred calls per second here; the storm needs more than
that, so its timings are moto's backlog more than the functions'.

## Metrics the functions emit (CloudWatch EMF)

One JSON line per observation on stdout, namespace `PhoneEscalation`; CloudWatch Logs turns
them into metrics without API calls.

| metric | unit | dimensions | meaning |
|---|---|---|---|
| `Attempts` | Count | `Priority`, `Group` | one per finished call attempt |
| `Accepts` | Count | `Priority`, `Group` | escalations accepted |
| `Exhausted` | Count | `Priority`, `Group` | escalations where nobody accepted |
| `TimeToAccept` | Milliseconds | `Priority`, `Group` | escalation start → the accepting key press |
| `TwilioErrors` | Count | `Function` (`engine`) | Twilio calls that failed after retries (the record or request is retried) |
| `ServiceNowErrors` | Count | `Function` (`incident-updater`) | ServiceNow writes that failed after retries (the message is redelivered) |
| `DuplicatesDropped` | Count | `Function` (`flow-events`, `incident-updater`) | events or updates recognised as already applied |

`Group` is the incident's assignment group, or `-`.
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn run(concurrency: u32, latency_ms: u64, wall_ms: u64) -> FlowRun {
        FlowRun {
            concurrency,
            latency_ms,
            records: 1000,
            relevant: 100,
            wall: Duration::from_millis(wall_ms),
            cpu: Duration::from_millis(200),
            failures: 0,
            context_gets: 100,
        }
    }

    #[test]
    fn ideal_and_effective_concurrency() {
        let runs = [run(8, 0, 1000), run(8, 50, 625), run(1, 50, 10_000)];
        assert_eq!(runs[1].ideal(), Duration::from_millis(625));
        // 100 × 50 ms of waiting in a 625 ms batch: 8 waits in flight all along.
        assert_eq!(effective_concurrency(&runs[1]), Some(8.0));
        assert_eq!(effective_concurrency(&runs[0]), None, "no latency injected");
        // 5 s of waiting in a 10 s batch: one wait in flight half the time.
        assert_eq!(effective_concurrency(&runs[2]), Some(0.5));
    }

    #[test]
    fn chart_has_a_measured_and_an_ideal_line_per_concurrency() {
        let runs = [
            run(1, 0, 2000),
            run(1, 50, 7000),
            run(8, 0, 1500),
            run(8, 50, 2500),
        ];
        let svg = chart(&runs);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 4);
        assert_eq!(
            svg.matches("stroke-dasharray").count(),
            2 + 2,
            "ideal lines + legend"
        );
        assert_eq!(svg.matches("<circle").count(), 4);
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice(0.7), 1.0);
        assert_eq!(nice(1.3), 2.0);
        assert_eq!(nice(3.0), 5.0);
        assert_eq!(nice(12.0), 20.0);
    }
}
