//! The ring-all table of one bench run: the winning press → both losers' calls hung up.

use super::{check, ratio};
use crate::ring::RingRun;
use crate::stats::{human, percentile};
use std::fmt::Write;

/// Ring-all: the winning press → both losers' calls hung up, against one PutItem.
pub(super) fn table(s: &mut String, r: &RingRun) {
    let _ = writeln!(
        s,
        "### Ring-all: winning key press → both losers' calls hung up at Twilio ({} escalations of three calls, one at a time, no injected latency)\n",
        r.samples
    );
    let _ = writeln!(s, "| measure | p50 | p99 | p50 × one PutItem p50 |");
    let _ = writeln!(s, "|---|---:|---:|---:|");
    let unit = percentile(&r.put_item, 50.0);
    for (name, v) in [
        (
            "press sent to call-decision → both losers hung up",
            &r.hung_up,
        ),
        ("one conditional PutItem (same moto)", &r.put_item),
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
        "\nEscalations whose losers were not both hung up: {} ({}). Not included: Studio's request over the internet and Twilio's own time to end a call.\n",
        r.missing,
        check(r.missing == 0)
    );
}
