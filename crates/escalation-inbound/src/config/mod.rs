//! The inbound line's configuration (`assets/inbound.json`, or `INBOUND_CONFIG_PATH`),
//! validated at load; every error names the entry (`numbers[0] (+1******9999).groups[1]
//! ("Network")`) and the field. Phone numbers in errors are masked.
//!
//! - this module: the validated configuration and its loading.
//! - `raw`: the JSON as written, and the checks of single fields.
//! - `line`: the validation of one number (its callers, routing, teams and texts).

mod line;
mod raw;

use escalation_core::model::{E164, Person, Roster};
use raw::RawConfig;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum InboundConfigError {
    #[error("cannot read inbound config {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("inbound config is not valid: {0}")]
    Json(#[from] serde_json::Error),
    #[error("inbound config: {at}: {problem}")]
    Entry { at: String, problem: String },
}

/// What happens to a caller whose number is withheld, or not recognised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Admission {
    /// Hear a refusal; the call ends.
    Refuse,
    /// Enter the line's PIN (then `#`) to go on.
    Pin,
}

/// Who may use a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallerPolicy {
    /// Numbers in the roster (agents and escalation list) are allowed.
    pub roster: bool,
    /// Active ServiceNow users whose phone or mobile phone is the calling number are allowed.
    pub servicenow_users: bool,
    /// Country code (digits) for national numbers stored in ServiceNow, e.g. "1".
    pub default_country_code: Option<String>,
    pub withheld: Admission,
    pub unknown: Admission,
    /// SHA-256 (hex) of the PIN; required when either policy is `pin`.
    pub pin_sha256: Option<String>,
}

/// Fields of the incidents this line creates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentTemplate {
    pub impact: String,
    pub urgency: String,
    /// Extra incident fields (e.g. `category`), set as given.
    pub fields: BTreeMap<String, String>,
}

/// Putting a caller through to the on-call people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveRouting {
    /// How long each person's phone rings.
    pub ring_timeout_secs: u32,
    /// At most this many people are tried before the caller is offered voicemail.
    pub max_people: usize,
    /// How long the called person has to press a key after the announcement.
    pub whisper_timeout_secs: u32,
}

/// Who a put-through calls for a team.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Team {
    /// These people, in this order (the configuration's `people`).
    Named(Vec<Person>),
    /// Whoever a priority-1 incident of the team would call at the moment of the call, from
    /// the same sources and in the same order as an escalation (no `people` configured).
    OnCall,
}

/// A team the caller picks by digit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub digit: u8,
    pub name: String,
    /// `assignment_group` of incidents for this team (sys_id), if any.
    pub assignment_group: Option<String>,
    /// Who is called for this team.
    pub people: Team,
    /// Overrides the line's incident template.
    pub incident: IncidentTemplate,
}

/// One Twilio number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub number: E164,
    pub name: String,
    pub voice: Option<String>,
    pub language: Option<String>,
    pub callers: CallerPolicy,
    pub live: LiveRouting,
    /// Whether texts to this number create incidents.
    pub sms_enabled: bool,
    /// The team texts are filed under.
    pub sms_group: u8,
    pub groups: Vec<Group>,
}

impl Line {
    pub fn group(&self, digit: u8) -> Option<&Group> {
        self.groups.iter().find(|g| g.digit == digit)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboundConfig {
    pub numbers: Vec<Line>,
    /// How long a transcription callback waits for the caller to confirm or discard the
    /// recording before deciding itself (the caller hung up at the confirmation prompt).
    pub transcription_wait: Duration,
    /// Upper bound for ServiceNow work inside one webhook (Twilio gives up after 15 s).
    pub servicenow_budget: Duration,
}

impl InboundConfig {
    pub fn line(&self, number: &str) -> Option<&Line> {
        self.numbers.iter().find(|l| l.number.as_str() == number)
    }

    pub fn load(path: &Path, roster: &Roster) -> Result<Self, InboundConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| InboundConfigError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&text, roster)
    }

    /// The configuration bundled with the binary (`assets/inbound.json`).
    pub fn bundled(roster: &Roster) -> Result<Self, InboundConfigError> {
        Self::from_json(include_str!("../../../../assets/inbound.json"), roster)
    }

    pub fn from_json(text: &str, roster: &Roster) -> Result<Self, InboundConfigError> {
        let raw: RawConfig = serde_json::from_str(text)?;
        let fail = |at: String, problem: String| InboundConfigError::Entry { at, problem };
        if raw.numbers.is_empty() {
            return Err(fail(
                "numbers".into(),
                "is empty; configure at least one Twilio number".into(),
            ));
        }
        let transcription_wait = raw.transcription_wait_secs.unwrap_or(8);
        if transcription_wait > 12 {
            return Err(fail(
                "transcription_wait_secs".into(),
                format!(
                    "{transcription_wait} is too long; Twilio waits at most 15 s for an answer (use 0 to 12)"
                ),
            ));
        }
        let budget = raw.servicenow_budget_secs.unwrap_or(8);
        if !(2..=10).contains(&budget) {
            return Err(fail(
                "servicenow_budget_secs".into(),
                format!(
                    "{budget} must be between 2 and 10 (Twilio waits at most 15 s for an answer, and starting the escalation needs a few seconds too)"
                ),
            ));
        }
        let mut seen = BTreeSet::new();
        let mut numbers = Vec::new();
        for (i, n) in raw.numbers.into_iter().enumerate() {
            let line = line::validate_line(i, n, roster)?;
            if !seen.insert(line.number.as_str().to_string()) {
                return Err(fail(
                    format!("numbers[{i}] ({})", line.number.masked()),
                    "this number is configured twice".into(),
                ));
            }
            numbers.push(line);
        }
        Ok(InboundConfig {
            numbers,
            transcription_wait: Duration::from_secs(u64::from(transcription_wait)),
            servicenow_budget: Duration::from_secs(u64::from(budget)),
        })
    }
}

#[cfg(test)]
mod tests;
