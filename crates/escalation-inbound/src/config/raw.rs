//! The configuration's JSON as written (unknown fields refused), and the checks of single
//! fields shared by lines and teams.

use super::{Admission, IncidentTemplate};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub(super) numbers: Vec<RawLine>,
    pub(super) transcription_wait_secs: Option<u32>,
    pub(super) servicenow_budget_secs: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLine {
    pub(super) number: Option<String>,
    pub(super) name: Option<String>,
    pub(super) voice: Option<String>,
    pub(super) language: Option<String>,
    #[serde(default)]
    pub(super) callers: RawCallers,
    #[serde(default)]
    pub(super) incident: RawIncident,
    #[serde(default)]
    pub(super) live: RawLive,
    #[serde(default)]
    pub(super) sms: RawSms,
    #[serde(default)]
    pub(super) groups: Vec<RawGroup>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCallers {
    pub(super) roster: Option<bool>,
    pub(super) servicenow_users: Option<bool>,
    pub(super) default_country_code: Option<String>,
    pub(super) withheld: Option<Admission>,
    pub(super) unknown: Option<Admission>,
    pub(super) pin_sha256: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIncident {
    pub(super) impact: Option<serde_json::Value>,
    pub(super) urgency: Option<serde_json::Value>,
    #[serde(default)]
    pub(super) fields: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLive {
    pub(super) ring_timeout_secs: Option<u32>,
    pub(super) max_people: Option<usize>,
    pub(super) whisper_timeout_secs: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSms {
    pub(super) enabled: Option<bool>,
    pub(super) group: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGroup {
    pub(super) digit: Option<serde_json::Value>,
    pub(super) name: Option<String>,
    pub(super) assignment_group: Option<String>,
    #[serde(default)]
    pub(super) people: Vec<String>,
    #[serde(default)]
    pub(super) incident: RawIncident,
}

/// Fields the line sets itself; configuration may not override them.
const MANAGED_FIELDS: &[&str] = &[
    "sys_id",
    "number",
    "short_description",
    "description",
    "caller_id",
    "assignment_group",
    "assigned_to",
    "impact",
    "urgency",
    "priority",
    "state",
    "correlation_id",
    "correlation_display",
    "work_notes",
    "comments",
    "contact_type",
];

pub(super) fn digit_of(v: &serde_json::Value) -> Option<u8> {
    let d = match v {
        serde_json::Value::Number(n) => n.as_u64()?,
        serde_json::Value::String(s) if s.len() == 1 => s.parse().ok()?,
        _ => return None,
    };
    (1..=9).contains(&d).then_some(d as u8)
}

fn level(v: Option<&serde_json::Value>, default: &str) -> Result<String, String> {
    let s = match v {
        None => return Ok(default.to_string()),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(serde_json::Value::String(s)) => s.trim().to_string(),
        Some(other) => other.to_string(),
    };
    if matches!(s.as_str(), "1" | "2" | "3") {
        Ok(s)
    } else {
        Err(format!("{s:?} must be 1 (high), 2 (medium) or 3 (low)"))
    }
}

pub(super) fn template(
    raw: &RawIncident,
    defaults: &IncidentTemplate,
) -> Result<IncidentTemplate, (String, String)> {
    let impact =
        level(raw.impact.as_ref(), &defaults.impact).map_err(|p| ("impact".to_string(), p))?;
    let urgency =
        level(raw.urgency.as_ref(), &defaults.urgency).map_err(|p| ("urgency".to_string(), p))?;
    let mut fields = defaults.fields.clone();
    for (k, v) in &raw.fields {
        if k.is_empty()
            || !k
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err((
                format!("fields.{k}"),
                "field names are ServiceNow column names (a-z, 0-9, _)".into(),
            ));
        }
        if MANAGED_FIELDS.contains(&k.as_str()) {
            return Err((
                format!("fields.{k}"),
                "is set by the inbound line itself and cannot be configured".into(),
            ));
        }
        fields.insert(k.clone(), v.clone());
    }
    Ok(IncidentTemplate {
        impact,
        urgency,
        fields,
    })
}
