//! Requests per operation, measured: the AWS requests the functions sent (counted by the
//! bench's HTTP client, `count.rs`) and the requests the Twilio fake received, next to
//! what the code says they should be.

use super::Results;
use crate::flow::FlowRun;
use crate::stats::{human, percentile};
use crate::storm::StormRun;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The storm's triggers: the answer, the handler alone, and each AWS request they made.
pub fn trigger_steps(s: &mut String, st: &StormRun) {
    let _ = writeln!(
        s,
        "### incident-trigger in the storm above: where the answer's time goes\n"
    );
    let _ = writeln!(s, "| step | requests per trigger | p50 | p99 |");
    let _ = writeln!(s, "|---|---:|---:|---:|");
    let _ = writeln!(
        s,
        "| answer, from arrival (a handler slot's wait included) | | {} | {} |",
        human(st.trigger_p50),
        human(st.trigger_p99)
    );
    let _ = writeln!(
        s,
        "| handler, from its slot to its answer | | {} | {} |",
        human(st.handler_p50),
        human(st.handler_p99)
    );
    let n = st.incidents.max(1) as f64;
    for (label, took) in &st.trigger_calls {
        let _ = writeln!(
            s,
            "| {label} | {:.2} | {} | {} |",
            took.len() as f64 / n,
            human(percentile(took, 50.0)),
            human(percentile(took, 99.0))
        );
    }
    let _ = writeln!(
        s,
        "| reference: conditional PutItem probe | | | {} |\n",
        human(st.put_item_p99)
    );
}

/// What the code says one operation sends: label → count; a label ending in `?` is at most
/// that many (a cached read).
struct Counted(&'static [(&'static str, f64)]);

/// incident-trigger, one escalation started (see "Requests per escalation (counted)"): the
/// "started" note is a batch send to the update queue, the dial request a single send.
const TRIGGER: Counted = Counted(&[
    ("DynamoDB PutItem sig#", 1.0),
    ("DynamoDB GetItem cfg#?", 1.0),
    ("DynamoDB PutItem esc#", 1.0),
    ("SQS SendMessageBatch", 1.0),
    ("SQS SendMessage", 1.0),
]);

/// flow-events, one call's end that finishes the escalation (the call was accepted).
const FLOW_ACCEPTED: Counted = Counted(&[
    ("DynamoDB GetItem esc#", 1.0),
    ("DynamoDB PutItem esc#", 1.0),
    ("SQS SendMessageBatch", 1.0),
    ("GET Context", 1.0),
]);

/// The measured table: per incident-trigger request (the storm's) and per relevant
/// flow-events record (the default concurrency's run without injected latency). Empty
/// when neither phase ran.
pub fn measured_requests(r: &Results) -> String {
    let mut rows = Vec::new();
    if let Some(st) = &r.storm {
        let counts = st
            .trigger_calls
            .iter()
            .map(|(k, v)| (k.clone(), v.len()))
            .collect();
        rows.push((
            format!(
                "incident-trigger, per request ({} in the storm)",
                st.incidents
            ),
            per(&counts, st.incidents),
            &TRIGGER,
        ));
    }
    if let Some(f) = flow_run(r) {
        let mut counts = f.aws_calls.clone();
        counts.extend(f.twilio_calls.clone());
        rows.push((
            format!(
                "flow-events, per relevant record ({} call ends, accepted; concurrency {})",
                f.relevant, f.concurrency
            ),
            per(&counts, f.relevant),
            &FLOW_ACCEPTED,
        ));
    }
    if rows.is_empty() {
        return String::new();
    }
    let mut s = String::new();
    let _ = writeln!(s, "### Requests per operation (measured)\n");
    let _ = writeln!(
        s,
        "| operation | DynamoDB GetItem | DynamoDB PutItem | DynamoDB UpdateItem | other DynamoDB | SQS sends | Twilio | as counted |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
    for (name, m, counted) in rows {
        let cell = |pick: &dyn Fn(&str) -> bool| {
            let parts: Vec<String> = m
                .iter()
                .filter(|(k, _)| pick(k))
                .map(|(k, v)| format!("{v:.2} {}", short(k)))
                .collect();
            if parts.is_empty() {
                "0".to_string()
            } else {
                parts.join(", ")
            }
        };
        let ddb = |op: &'static str| move |k: &str| k.starts_with(&format!("DynamoDB {op}"));
        let other_ddb = |k: &str| {
            k.starts_with("DynamoDB")
                && !["GetItem", "PutItem", "UpdateItem"]
                    .iter()
                    .any(|op| k.starts_with(&format!("DynamoDB {op}")))
        };
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&ddb("GetItem")),
            cell(&ddb("PutItem")),
            cell(&ddb("UpdateItem")),
            cell(&other_ddb),
            cell(&|k: &str| k.starts_with("SQS Send")),
            cell(&|k: &str| !k.starts_with("DynamoDB") && !k.starts_with("SQS")),
            agreement(&m, counted)
        );
    }
    s.push('\n');
    s
}

/// The run the measured table uses: the default concurrency without injected latency,
/// else the first.
fn flow_run(r: &Results) -> Option<&FlowRun> {
    r.flow
        .iter()
        .find(|f| f.concurrency == r.default_concurrency && f.latency_ms == 0)
        .or(r.flow.first())
}

fn per(counts: &BTreeMap<String, usize>, n: usize) -> BTreeMap<String, f64> {
    counts
        .iter()
        .map(|(k, v)| (k.clone(), *v as f64 / n.max(1) as f64))
        .collect()
}

/// `DynamoDB PutItem sig#` → `sig#`; `SQS SendMessageBatch` → `SendMessageBatch`;
/// `GET Context` as it is.
fn short(label: &str) -> &str {
    if let Some(rest) = label.strip_prefix("DynamoDB ") {
        return rest.split_once(' ').map_or(rest, |(_, kind)| kind);
    }
    label.strip_prefix("SQS ").unwrap_or(label)
}

/// "yes", or what differs from the count read from the code.
fn agreement(measured: &BTreeMap<String, f64>, counted: &Counted) -> String {
    let mut off = Vec::new();
    for (label, want) in counted.0 {
        let (label, at_most) = match label.strip_suffix('?') {
            Some(l) => (l, true),
            None => (*label, false),
        };
        let got = measured.get(label).copied().unwrap_or(0.0);
        let ok = if at_most {
            got <= want + 1e-9
        } else {
            (got - want).abs() < 0.005
        };
        if !ok {
            off.push(format!("{label} {got:.2} (counted {want})"));
        }
    }
    for (label, got) in measured {
        if !counted
            .0
            .iter()
            .any(|(l, _)| l.trim_end_matches('?') == label)
        {
            off.push(format!("{label} {got:.2} (not counted)"));
        }
    }
    if off.is_empty() {
        "yes".into()
    } else {
        format!("no: {}", off.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreement_names_what_differs_from_the_count() {
        let m: BTreeMap<String, f64> = [
            ("DynamoDB GetItem esc#".to_string(), 1.0),
            ("DynamoDB PutItem esc#".to_string(), 1.0),
            ("SQS SendMessageBatch".to_string(), 1.0),
            ("GET Context".to_string(), 1.0),
        ]
        .into();
        assert_eq!(agreement(&m, &FLOW_ACCEPTED), "yes");
        let mut extra = m.clone();
        extra.insert("DynamoDB GetItem evt#".into(), 1.0);
        extra.remove("GET Context");
        assert_eq!(
            agreement(&extra, &FLOW_ACCEPTED),
            "no: GET Context 0.00 (counted 1); DynamoDB GetItem evt# 1.00 (not counted)"
        );
        let trigger: BTreeMap<String, f64> = [
            ("DynamoDB PutItem sig#".to_string(), 1.0),
            ("DynamoDB GetItem cfg#".to_string(), 0.04),
            ("DynamoDB PutItem esc#".to_string(), 1.0),
            ("SQS SendMessageBatch".to_string(), 1.0),
            ("SQS SendMessage".to_string(), 1.0),
        ]
        .into();
        assert_eq!(agreement(&trigger, &TRIGGER), "yes");
    }

    #[test]
    fn the_table_has_a_row_per_phase_that_ran() {
        let mut flow = crate::report::tests::run(8, 0, 100);
        flow.aws_calls = [("DynamoDB GetItem esc#".to_string(), 100)].into();
        flow.twilio_calls = [("GET Context".to_string(), 100)].into();
        let r = crate::report::tests::results(vec![flow]);
        let t = measured_requests(&r);
        assert!(t.contains("| flow-events, per relevant record (100 call ends, accepted; concurrency 8) | 1.00 esc# | 0 | 0 | 0 | 0 | 1.00 GET Context | no: "), "{t}");
        assert!(!t.contains("incident-trigger"), "{t}");
    }
}
