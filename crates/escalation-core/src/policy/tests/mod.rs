//! Policy tests: rotations across daylight saving changes and overrides, resolution, and
//! the document's validation.

mod parse;
mod resolve;
mod ring;
mod rotation;

use super::PolicySet;
use jiff::Timestamp;
use serde_json::{Value, json};

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn people() -> Value {
    json!({
        "ana": {"name": "Ana Ortiz", "phone": "+14155550101", "sn_user": "ana.ortiz"},
        "ben": {"name": "Ben Okafor", "phone": "+14155550102"},
        "cara": {"name": "Cara Diaz", "phone": "+14155550103"},
        "dan": {"name": "Dan Wu", "phone": "+14155550104", "role": "Engineering manager"}
    })
}

/// A document with these people and one default policy of these steps.
fn doc_with(steps: Value) -> Value {
    json!({"people": people(), "default": {"steps": steps}})
}

fn set(doc: &Value) -> PolicySet {
    PolicySet::from_json(&doc.to_string()).unwrap_or_else(|e| panic!("{e}"))
}

/// Names called for the default policy at `when`, in order.
fn names_at(set: &PolicySet, when: &str) -> Vec<String> {
    set.resolve(None, None, "1", at(when))
        .unwrap()
        .people()
        .map(|c| c.person.name.clone())
        .collect()
}

fn rotation(members: &[&str], handoff: &str, tz: &str, period: Value) -> Value {
    json!({"rotation": {"name": "primary", "members": members, "handoff": handoff, "time_zone": tz, "period": period}})
}
