//! The roster read from a file (`ROSTER_PATH`), or the sample bundled for the local stack.

use escalation_core::model::{Roster, RosterError};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum RosterFileError {
    #[error("cannot read roster {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Invalid(#[from] RosterError),
}

pub fn load(path: &Path) -> Result<Roster, RosterFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| RosterFileError::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(Roster::from_json(&text)?)
}

/// The sample roster shipped in `assets/agent_list.json`.
pub fn bundled() -> Result<Roster, RosterFileError> {
    Ok(Roster::from_json(include_str!(
        "../../../assets/agent_list.json"
    ))?)
}
