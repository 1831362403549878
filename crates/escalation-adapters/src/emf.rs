//! CloudWatch metrics in Embedded Metric Format (EMF): one JSON line on stdout per
//! observation; CloudWatch Logs extracts the metrics, no API calls, no extra latency.
//!
//! Namespace `PhoneEscalation`. Metrics (all with dimensions `Priority` and `Group`, the
//! incident's assignment group or `-`):
//! `Attempts` (Count, one per finished call), `Accepts` (Count), `Exhausted` (Count),
//! `TimeToAccept` (Milliseconds, escalation start → the accepting key press),
//! `TwilioErrors`, `ServiceNowErrors` (Count, failures that were reported for retry),
//! `DuplicatesDropped` (Count, events or updates recognised as already applied; dimension
//! `Function` only).

use escalation_core::model::{DeclineReason, Incident};
use escalation_core::ports::{Metric, Metrics};
use serde_json::{Map, Value, json};

pub const NAMESPACE: &str = "PhoneEscalation";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// Every metric is also published under this one dimension (`Service`), summed over the
/// others, so that an alarm can watch the whole product with one metric.
pub const SERVICE: (&str, &str) = ("Service", "phone-escalation");

/// The EMF document for one set of values sharing dimensions (and [`SERVICE`]).
pub fn render(now_ms: u64, dimensions: &[(&str, &str)], values: &[(&str, f64, Unit)]) -> String {
    let mut doc = Map::new();
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": now_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [dimensions.iter().map(|(k, _)| *k).collect::<Vec<_>>(), vec![SERVICE.0]],
                "Metrics": values.iter().map(|(name, _, unit)| json!({"Name": name, "Unit": unit.as_str()})).collect::<Vec<_>>(),
            }]
        }),
    );
    for (k, v) in dimensions.iter().chain([&SERVICE]) {
        doc.insert((*k).into(), Value::String((*v).into()));
    }
    for (name, value, _) in values {
        doc.insert((*name).into(), json!(value));
    }
    Value::Object(doc).to_string()
}

/// Write one EMF line to stdout (Lambda sends stdout to CloudWatch Logs).
pub fn emit(dimensions: &[(&str, &str)], values: &[(&str, f64, Unit)]) {
    if values.is_empty() {
        return;
    }
    println!("{}", render(crate::clock::now_ms(), dimensions, values));
}

/// The engine's metrics as EMF lines on stdout.
#[derive(Debug, Default, Clone, Copy)]
pub struct EmfMetrics;

fn named(values: &[(Metric, f64)]) -> Vec<(&'static str, f64, Unit)> {
    values
        .iter()
        .map(|(m, v)| {
            let unit = if m.is_milliseconds() {
                Unit::Milliseconds
            } else {
                Unit::Count
            };
            (m.name(), *v, unit)
        })
        .collect()
}

impl Metrics for EmfMetrics {
    fn incident(&self, incident: &Incident, values: &[(Metric, f64)]) {
        emit(
            &[
                ("Priority", incident.priority.as_str()),
                ("Group", incident.group_label()),
            ],
            &named(values),
        );
    }

    fn declined(&self, incident: &Incident, reason: DeclineReason) {
        emit(
            &[
                ("Priority", incident.priority.as_str()),
                ("Reason", reason.label()),
            ],
            &named(&[(Metric::Declines, 1.0)]),
        );
    }

    fn count(&self, function: &str, metric: Metric, n: usize) {
        if n > 0 {
            emit(&[("Function", function)], &named(&[(metric, n as f64)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_valid_emf() {
        let line = render(
            1_795_255_331_000,
            &[("Priority", "1"), ("Group", "db")],
            &[
                ("Accepts", 1.0, Unit::Count),
                ("TimeToAccept", 42_000.0, Unit::Milliseconds),
            ],
        );
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["_aws"]["Timestamp"], 1_795_255_331_000u64);
        let m = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(m["Namespace"], "PhoneEscalation");
        assert_eq!(m["Dimensions"], json!([["Priority", "Group"], ["Service"]]));
        assert_eq!(
            v["Service"], "phone-escalation",
            "one metric for the whole product"
        );
        assert_eq!(
            m["Metrics"][1],
            json!({"Name": "TimeToAccept", "Unit": "Milliseconds"})
        );
        assert_eq!(v["Priority"], "1");
        assert_eq!(v["Group"], "db");
        assert_eq!(v["TimeToAccept"], 42_000.0);
        assert!(!line.contains('\n'), "one line per document");
    }
}
