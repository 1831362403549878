//! The policy file named by `ROSTER_PATH`: a policy document, or the original demo's roster
//! (`agent_list` / `escalation_list`) as the default policy. Nothing is compiled in: without
//! a file (and without stored policies) nobody is called and the incident says so.

use crate::aws::policies::check_sample;
use escalation_core::model::{Roster, RosterError};
use escalation_core::policy::{PolicyErrors, PolicySet};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum RosterFileError {
    #[error("cannot read roster {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("roster {path}:\n{source}")]
    Invalid { path: String, source: PolicyErrors },
    #[error("roster {path}: {problem}")]
    Refused { path: String, problem: String },
    #[error(transparent)]
    Roster(#[from] RosterError),
}

/// A policy file, read at start-up.
#[derive(Clone, Debug)]
pub struct PolicyFile {
    pub path: String,
    pub set: PolicySet,
    /// Everyone the file names, as a roster (the inbound line identifies callers by it).
    pub roster: Roster,
}

/// Read and validate the file; the bundled sample people are refused unless
/// `allow_sample` (the local stack).
pub fn load(path: &Path, allow_sample: bool) -> Result<PolicyFile, RosterFileError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| RosterFileError::Io {
        path: shown.clone(),
        source,
    })?;
    from_text(&shown, &text, allow_sample)
}

pub fn from_text(
    path: &str,
    text: &str,
    allow_sample: bool,
) -> Result<PolicyFile, RosterFileError> {
    let set = PolicySet::from_json(text).map_err(|source| RosterFileError::Invalid {
        path: path.to_string(),
        source,
    })?;
    check_sample(&set, allow_sample).map_err(|problem| RosterFileError::Refused {
        path: path.to_string(),
        problem,
    })?;
    let original = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .is_some_and(|v| v.get("agent_list").is_some());
    let roster = if original {
        Roster::from_json(text)?
    } else {
        set.everyone()
    };
    Ok(PolicyFile {
        path: path.to_string(),
        set,
        roster,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{"agent_list":[{"name":"Alice Example","phone_no":"+15550100001"}],
        "escalation_list":[{"name":"Carol Example","phone_no":"+15550100003"}]}"#;

    #[test]
    fn the_bundled_sample_is_refused_by_name_outside_the_local_stack() {
        let err = from_text("agent_list.json", SAMPLE, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("Alice Example, Carol Example"), "{err}");
        assert!(err.contains("outside the local stack"), "{err}");
        let file = from_text("agent_list.json", SAMPLE, true).unwrap();
        assert_eq!(file.roster.agents[0].name, "Alice Example");
    }

    #[test]
    fn a_policy_document_names_everyone_for_the_inbound_line() {
        let doc = r#"{"people":{"ana":{"name":"Ana Ortiz","phone":"+14155550101"}},
            "groups":{"Database":{"steps":[{"person":"ana"}]}}}"#;
        let file = from_text("p.json", doc, false).unwrap();
        assert_eq!(file.roster.agents[0].name, "Ana Ortiz");
        assert!(file.set.default.is_none());
        let err = from_text("p.json", "{}", false).unwrap_err().to_string();
        assert!(err.contains("people: is missing"), "{err}");
    }
}
