//! The Markdown tables of one bench run, one per phase (printed as is and written into
//! docs/PERFORMANCE.md).

use super::{Results, check, effective_concurrency, median, ratio};
use crate::cold::ColdRun;
use crate::decision::DecisionRun;
use crate::hotpath::HotPathRun;
use crate::stats::{human, mb, percentile, sig3};
use crate::storm::StormRun;
use crate::trigger::TriggerRun;
use std::fmt::{Display, Write};
use std::time::Duration;

/// The tables, in Markdown (printed as is and written into PERFORMANCE.md).
pub fn tables(r: &Results) -> String {
    let mut s = String::new();
    if !r.flow.is_empty() {
        flow_table(&mut s, r);
    }
    if !r.trigger.is_empty() {
        trigger_table(&mut s, &r.trigger);
    }
    if !r.cold.is_empty() || !r.artifacts.is_empty() {
        cold_table(&mut s, r);
    }
    if let Some(st) = &r.storm {
        storm_table(&mut s, st);
        if let Some(on) = &r.storm_bundled {
            super::bundling::table(&mut s, st, on);
        }
        super::calls::trigger_steps(&mut s, st);
    }
    if let Some(h) = &r.hotpath {
        hotpath_table(&mut s, h);
    }
    if let Some(d) = &r.decision {
        decision_table(&mut s, d);
    }
    if let Some(r) = &r.ring {
        super::ring::table(&mut s, r);
    }
    s
}

/// Key press → assignment PATCH: call-decision against the flow's end, and their ratio.
fn decision_table(s: &mut String, d: &DecisionRun) {
    let _ = writeln!(
        s,
        "### Key press → `assigned_to` PATCH received by ServiceNow ({} accepts by each path, in turn, one at a time, no injected latency)\n",
        d.samples
    );
    let _ = writeln!(s, "| path | p50 | p99 |");
    let _ = writeln!(s, "|---|---:|---:|");
    for (name, v) in [
        ("call-decision (the flow reports the key at once)", &d.live),
        (
            "flow end (Event Streams → Kinesis → flow-events)",
            &d.flow_end,
        ),
    ] {
        let _ = writeln!(
            s,
            "| {name} | {} | {} |",
            human(percentile(v, 50.0)),
            human(percentile(v, 99.0))
        );
    }
    let at = |p| (percentile(&d.live, p), percentile(&d.flow_end, p));
    let ((l50, f50), (l99, f99)) = (at(50.0), at(99.0));
    let _ = writeln!(
        s,
        "| call-decision ÷ flow end | {} | {} |",
        ratio(l50, f50),
        ratio(l99, f99)
    );
    let _ = writeln!(
        s,
        "\nPATCHes missing: {} ({}). Not included (see how it is measured): before the flow's end, the spoken confirmation, Event Streams' delivery and the Kinesis batching window (seconds); before call-decision, Studio's request over the internet (milliseconds).\n",
        d.missing,
        check(d.missing == 0)
    );
}

/// The hot path: flow-end record → next Studio create, against one PutItem.
fn hotpath_table(s: &mut String, h: &HotPathRun) {
    let _ = writeln!(
        s,
        "### Hot path: flow-end record handed to flow-events → next Studio create received ({} escalations, one at a time, no injected latency)\n",
        h.samples
    );
    let _ = writeln!(s, "| measure | p50 | p99 | p50 × one PutItem p50 |");
    let _ = writeln!(s, "|---|---:|---:|---:|");
    let unit = percentile(&h.put_item, 50.0);
    for (name, v) in [
        ("record handed → next create received", &h.total),
        (
            "flow-events' whole invocation (handed → returned)",
            &h.flow_events,
        ),
        ("one conditional PutItem (same moto)", &h.put_item),
    ] {
        let p50 = percentile(v, 50.0);
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} |",
            human(p50),
            human(percentile(v, 99.0)),
            ratio(p50, unit)
        );
    }
    let _ = writeln!(
        s,
        "\nNext calls not placed: {} ({}).\n",
        h.missing,
        check(h.missing == 0)
    );
}

/// flow-events: one row per concurrency and injected latency.
fn flow_table(s: &mut String, r: &Results) {
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

/// incident-trigger: one column per run (unloaded, under load).
fn trigger_table(s: &mut String, trigger: &[TriggerRun]) {
    let _ = writeln!(
        s,
        "### incident-trigger: signed requests through the handler\n"
    );
    let head: Vec<String> = trigger
        .iter()
        .map(|t| format!("{} requests, {} at a time", t.requests, t.lanes))
        .collect();
    let _ = writeln!(s, "| measure | {} |", head.join(" | "));
    let _ = writeln!(s, "|---|{}", "---:|".repeat(trigger.len()));
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
        let cells: Vec<String> = trigger.iter().map(&cell).collect();
        let _ = writeln!(s, "| {name} | {} |", cells.join(" | "));
    }
    s.push('\n');
}

/// Cold starts: one row per binary.
fn cold_table(s: &mut String, r: &Results) {
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

/// The storm: every promise with what was expected, then what happened.
fn storm_table(s: &mut String, st: &StormRun) {
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
    storm_row(
        s,
        "lost (not terminal, or a work note missing)",
        st.lost,
        "0",
        Some(st.lost == 0),
    );
    storm_row(
        s,
        &format!(
            "not terminal {} s after the last trigger answered",
            st.timeout.as_secs()
        ),
        st.not_terminal,
        "0",
        Some(st.not_terminal == 0),
    );
    storm_row(
        s,
        "duplicate dials (same escalation + attempt)",
        st.duplicate_dials,
        "0",
        Some(st.duplicate_dials == 0),
    );
    storm_row(
        s,
        "max concurrent calls per agent",
        st.max_calls_per_agent,
        "≤ 1",
        Some(st.max_calls_per_agent <= 1),
    );
    storm_row(
        s,
        "max Studio executions created in any 1 s",
        st.max_creates_per_sec,
        &format!("≤ {}", st.create_limit),
        Some(st.max_creates_per_sec <= st.create_limit as usize),
    );
    storm_row(
        s,
        "429 answers from the Twilio fake",
        st.throttled_429,
        "0",
        Some(st.throttled_429 == 0),
    );
    storm_row(
        s,
        "work notes missing (start or an attempt)",
        st.missing_notes,
        "0",
        Some(st.missing_notes == 0),
    );
    let mut answers: Vec<(&u16, &usize)> = st.trigger_statuses.iter().collect();
    answers.sort();
    let answers: Vec<String> = answers.iter().map(|(k, v)| format!("{v} × {k}")).collect();
    storm_row(s, "trigger answers", answers.join(", "), "all 202", None);
    storm_row(
        s,
        "409 answers (agent on another call)",
        st.conflicts_409,
        "—",
        None,
    );
    storm_row(
        s,
        "accepted / exhausted / still active",
        format!("{} / {} / {}", st.accepted, st.exhausted, st.not_terminal),
        "",
        None,
    );
    storm_row(
        s,
        "Studio executions / work notes written",
        format!("{} / {}", st.executions, st.notes),
        "",
        None,
    );
    storm_row(
        s,
        &format!(
            "trigger answer p50 / p99 (from arrival, {} trigger containers)",
            crate::storm::TRIGGER_CONTAINERS
        ),
        format!("{} / {}", human(st.trigger_p50), human(st.trigger_p99)),
        "",
        None,
    );
    let ratio = st.trigger_p99.as_secs_f64() / st.put_item_p99.as_secs_f64().max(1e-9);
    storm_row(
        s,
        &format!(
            "trigger answer p99 ÷ one conditional PutItem p99 to the same moto ({})",
            human(st.put_item_p99)
        ),
        format!("{ratio:.2}"),
        "≤ 3",
        Some(ratio <= 3.0),
    );
    storm_row(
        s,
        &format!(
            "time to first ring p50 / p99 (escalation stored → first create at the fake; {} dialer containers)",
            crate::storm::DIALER_CONTAINERS
        ),
        format!(
            "{} / {}",
            human(st.first_ring_p50),
            human(st.first_ring_p99)
        ),
        "",
        None,
    );
    storm_row(
        s,
        "time to accept p50 / p99",
        format!("{} / {}", human(st.accept_p50), human(st.accept_p99)),
        "",
        None,
    );
    storm_row(
        s,
        "triggers sent in / everything settled after",
        format!(
            "{} / {}",
            human(st.trigger_span),
            st.settled.map_or("did not settle".into(), human)
        ),
        "",
        None,
    );
    storm_row(
        s,
        "sweeps run (attempts dialled / calls redriven / ended / errors)",
        format!(
            "{} ({} / {} / {} / {})",
            st.sweeps, st.swept[0], st.swept[1], st.swept[2], st.swept[3]
        ),
        "",
        None,
    );
    s.push('\n');
}

/// One row of the storm table: a measure, its value, what was expected (may be empty), and
/// whether the promise held (`None`: nothing was promised).
fn storm_row(
    s: &mut String,
    measure: &str,
    value: impl Display,
    expected: &str,
    held: Option<bool>,
) {
    let expected = if expected.is_empty() {
        String::new()
    } else {
        format!(" {expected}")
    };
    let verdict = held.map_or(String::new(), |ok| format!(" {}", check(ok)));
    let _ = writeln!(s, "| {measure} | {value} |{expected} |{verdict} |");
}
