//! Named demo scenarios (`scripts/scenarios/*.json`): incidents to raise and how each
//! simulated agent behaves.

use escalation_fakes::twilio::AgentStep;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub description: String,
    /// `ACCEPTED`, `EXHAUSTED`, or `TERMINAL` (every incident ends, whichever way).
    pub expect: String,
    pub incidents: Vec<ScenarioIncident>,
    /// Phone number (E.164) → the agent's behaviour on successive calls.
    pub agents: BTreeMap<String, Vec<AgentStep>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioIncident {
    pub number: String,
    pub short_description: String,
    pub priority: String,
}

pub fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/scenarios")
}

/// Names of the bundled scenarios.
pub fn names() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(scenarios_dir())
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_suffix(".json"))
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

pub fn load(name: &str) -> Result<Scenario, String> {
    let path = scenarios_dir().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).map_err(|_| {
        format!(
            "unknown scenario {name:?}; choose one of: {}",
            names().join(", ")
        )
    })?;
    let s: Scenario =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if !matches!(s.expect.as_str(), "ACCEPTED" | "EXHAUSTED" | "TERMINAL") {
        return Err(format!(
            "{}: expect must be ACCEPTED, EXHAUSTED or TERMINAL",
            path.display()
        ));
    }
    for phone in s.agents.keys() {
        escalation::phone::E164::parse(phone)
            .map_err(|e| format!("{}: agents: {e}", path.display()))?;
    }
    Ok(s)
}
