//! The storm with bundling off and on, side by side (both from the same run).

use crate::stats::human;
use crate::storm::StormRun;
use std::fmt::Write;

/// What bundling changes in the storm: calls placed per incident, and that every promise
/// still holds with it on.
pub fn table(s: &mut String, off: &StormRun, on: &StormRun) {
    let _ = writeln!(
        s,
        "### The same storm with bundling on (BUNDLE_WINDOW_SECS={}): one call for the incidents waiting for one person\n",
        on.bundle_window_secs
    );
    let _ = writeln!(s, "| measure | bundling off | bundling on | |");
    let _ = writeln!(s, "|---|---:|---:|---|");
    let row = |s: &mut String, measure: &str, a: String, b: String, held: Option<bool>| {
        let verdict = held.map_or(String::new(), |ok| format!(" {}", super::check(ok)));
        let _ = writeln!(s, "| {measure} | {a} | {b} |{verdict} |");
    };
    row(
        s,
        "Studio executions (calls placed)",
        off.executions.to_string(),
        on.executions.to_string(),
        None,
    );
    row(
        s,
        "calls placed per incident",
        format!("{:.2}", off.calls_per_incident()),
        format!("{:.2}", on.calls_per_incident()),
        None,
    );
    row(
        s,
        "incidents per call (a bundle call counts each of its incidents)",
        format!("{:.2}", per_call(off)),
        format!("{:.2}", per_call(on)),
        None,
    );
    row(
        s,
        "409 answers (agent on another call)",
        off.conflicts_409.to_string(),
        on.conflicts_409.to_string(),
        None,
    );
    for (measure, a, b, ok) in [
        ("lost", off.lost, on.lost, on.lost == 0),
        (
            "duplicate dials (an attempt in two calls, bundle members included)",
            off.duplicate_dials,
            on.duplicate_dials,
            on.duplicate_dials == 0,
        ),
        (
            "max concurrent calls per agent (≤ 1)",
            off.max_calls_per_agent,
            on.max_calls_per_agent,
            on.max_calls_per_agent <= 1,
        ),
        (
            "max Studio executions created in any 1 s (≤ the rate)",
            off.max_creates_per_sec,
            on.max_creates_per_sec,
            on.max_creates_per_sec <= on.create_limit as usize,
        ),
        (
            "429 answers from the Twilio fake",
            off.throttled_429,
            on.throttled_429,
            on.throttled_429 == 0,
        ),
    ] {
        row(s, measure, a.to_string(), b.to_string(), Some(ok));
    }
    let pair =
        |a: std::time::Duration, b: std::time::Duration| format!("{} / {}", human(a), human(b));
    row(
        s,
        "time to first ring p50 / p99",
        pair(off.first_ring_p50, off.first_ring_p99),
        pair(on.first_ring_p50, on.first_ring_p99),
        None,
    );
    row(
        s,
        "time to accept p50 / p99",
        pair(off.accept_p50, off.accept_p99),
        pair(on.accept_p50, on.accept_p99),
        None,
    );
    let settled = |r: &StormRun| r.settled.map_or("did not settle".into(), human);
    row(
        s,
        "everything settled after",
        settled(off),
        settled(on),
        None,
    );
    let ratio = on.calls_per_incident() / off.calls_per_incident().max(1e-9);
    let _ = writeln!(
        s,
        "\nCalls placed per incident, bundling on ÷ off: **{ratio:.2}** (same incidents, agents and \
         answers; every incident still gets its own work notes).\n"
    );
}

fn per_call(r: &StormRun) -> f64 {
    r.incidents_called as f64 / r.executions.max(1) as f64
}
