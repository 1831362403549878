//! The inbound line's configuration (`assets/inbound.json`, or `INBOUND_CONFIG_PATH`),
//! validated at load; every error names the entry (`numbers[0] (+1******9999).groups[1]
//! ("Network")`) and the field. Phone numbers in errors are masked.

use crate::phone::E164;
use crate::roster::{Person, Roster};
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

/// A team the caller picks by digit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub digit: u8,
    pub name: String,
    /// `assignment_group` of incidents for this team (sys_id), if any.
    pub assignment_group: Option<String>,
    /// Who is called for this team, in roster order.
    pub people: Vec<Person>,
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
            let line = validate_line(i, n, roster)?;
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

// ---------------------------------------------------------------------------------------
// Raw JSON and validation.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    numbers: Vec<RawLine>,
    transcription_wait_secs: Option<u32>,
    servicenow_budget_secs: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLine {
    number: Option<String>,
    name: Option<String>,
    voice: Option<String>,
    language: Option<String>,
    #[serde(default)]
    callers: RawCallers,
    #[serde(default)]
    incident: RawIncident,
    #[serde(default)]
    live: RawLive,
    #[serde(default)]
    sms: RawSms,
    #[serde(default)]
    groups: Vec<RawGroup>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCallers {
    roster: Option<bool>,
    servicenow_users: Option<bool>,
    default_country_code: Option<String>,
    withheld: Option<Admission>,
    unknown: Option<Admission>,
    pin_sha256: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct RawIncident {
    impact: Option<serde_json::Value>,
    urgency: Option<serde_json::Value>,
    #[serde(default)]
    fields: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLive {
    ring_timeout_secs: Option<u32>,
    max_people: Option<usize>,
    whisper_timeout_secs: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSms {
    enabled: Option<bool>,
    group: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    digit: Option<serde_json::Value>,
    name: Option<String>,
    assignment_group: Option<String>,
    #[serde(default)]
    people: Vec<String>,
    #[serde(default)]
    incident: RawIncident,
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

fn digit_of(v: &serde_json::Value) -> Option<u8> {
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

fn template(
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

fn validate_line(i: usize, raw: RawLine, roster: &Roster) -> Result<Line, InboundConfigError> {
    let fail = |at: String, problem: String| InboundConfigError::Entry { at, problem };
    let number_text = raw.number.clone().unwrap_or_default();
    let number = E164::parse(number_text.trim()).map_err(|e| {
        fail(
            format!("numbers[{i}].number"),
            format!(
                "{} (got {})",
                e.reason,
                if number_text.is_empty() {
                    "nothing".to_string()
                } else {
                    crate::phone::mask(&number_text)
                }
            ),
        )
    })?;
    let at = format!("numbers[{i}] ({})", number.masked());
    let name = raw.name.unwrap_or_default().trim().to_string();
    if name.is_empty() || name.chars().count() > 60 {
        return Err(fail(
            format!("{at}.name"),
            "is required: 1 to 60 characters, spoken to callers (e.g. \"IT escalation line\")"
                .into(),
        ));
    }

    let c = raw.callers;
    let withheld = c.withheld.unwrap_or(Admission::Refuse);
    let unknown = c.unknown.unwrap_or(Admission::Refuse);
    let pin_sha256 = c.pin_sha256.map(|p| p.trim().to_ascii_lowercase());
    let needs_pin = withheld == Admission::Pin || unknown == Admission::Pin;
    match &pin_sha256 {
        Some(h) if !(h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit())) => {
            return Err(fail(
                format!("{at}.callers.pin_sha256"),
                "must be 64 hex characters: the SHA-256 of the PIN (printf %s 123456 | sha256sum)"
                    .into(),
            ));
        }
        None if needs_pin => {
            return Err(fail(
                format!("{at}.callers.pin_sha256"),
                "is required when withheld or unknown callers are admitted with a PIN".into(),
            ));
        }
        _ => {}
    }
    let default_country_code = c
        .default_country_code
        .map(|s| s.trim().trim_start_matches('+').to_string());
    let country_code_ok = |cc: &str| {
        (1..=3).contains(&cc.len())
            && cc.bytes().all(|b| b.is_ascii_digit())
            && !cc.starts_with('0')
    };
    if let Some(cc) = &default_country_code
        && !country_code_ok(cc)
    {
        return Err(fail(
            format!("{at}.callers.default_country_code"),
            format!("{cc:?} is not a country calling code (1 to 3 digits, e.g. \"1\" or \"44\")"),
        ));
    }
    let callers = CallerPolicy {
        roster: c.roster.unwrap_or(true),
        servicenow_users: c.servicenow_users.unwrap_or(true),
        default_country_code,
        withheld,
        unknown,
        pin_sha256,
    };
    if !callers.roster && !callers.servicenow_users && !needs_pin {
        return Err(fail(
            format!("{at}.callers"),
            "admits nobody: enable roster, servicenow_users, or a PIN".into(),
        ));
    }

    let live = LiveRouting {
        ring_timeout_secs: raw.live.ring_timeout_secs.unwrap_or(20),
        max_people: raw.live.max_people.unwrap_or(3),
        whisper_timeout_secs: raw.live.whisper_timeout_secs.unwrap_or(8),
    };
    if !(5..=60).contains(&live.ring_timeout_secs) {
        return Err(fail(
            format!("{at}.live.ring_timeout_secs"),
            format!("{} must be between 5 and 60", live.ring_timeout_secs),
        ));
    }
    if !(1..=10).contains(&live.max_people) {
        return Err(fail(
            format!("{at}.live.max_people"),
            format!("{} must be between 1 and 10", live.max_people),
        ));
    }
    if !(3..=30).contains(&live.whisper_timeout_secs) {
        return Err(fail(
            format!("{at}.live.whisper_timeout_secs"),
            format!("{} must be between 3 and 30", live.whisper_timeout_secs),
        ));
    }

    let line_template = template(
        &raw.incident,
        &IncidentTemplate {
            impact: "1".into(),
            urgency: "1".into(),
            fields: BTreeMap::new(),
        },
    )
    .map_err(|(f, p)| fail(format!("{at}.incident.{f}"), p))?;

    if raw.groups.is_empty() || raw.groups.len() > 9 {
        return Err(fail(
            format!("{at}.groups"),
            format!(
                "has {} entries; configure 1 to 9 teams (digits 1-9; 0 repeats the menu)",
                raw.groups.len()
            ),
        ));
    }
    let everyone: Vec<Person> = roster
        .agents
        .iter()
        .chain(&roster.escalation)
        .cloned()
        .collect();
    let mut groups: Vec<Group> = Vec::new();
    for (j, g) in raw.groups.into_iter().enumerate() {
        let gname = g.name.clone().unwrap_or_default().trim().to_string();
        let gat = format!("{at}.groups[{j}] ({gname:?})");
        if gname.is_empty() || gname.chars().count() > 60 {
            return Err(fail(
                format!("{gat}.name"),
                "is required: 1 to 60 characters, spoken to callers".into(),
            ));
        }
        let digit = g.digit.as_ref().and_then(digit_of).ok_or_else(|| {
            fail(
                format!("{gat}.digit"),
                "must be a single digit 1 to 9 (0 is reserved for \"repeat the options\")".into(),
            )
        })?;
        if let Some(other) = groups.iter().find(|o| o.digit == digit) {
            return Err(fail(
                format!("{gat}.digit"),
                format!("{digit} is already used by {:?}", other.name),
            ));
        }
        let assignment_group = g
            .assignment_group
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        if let Some(ag) = &assignment_group
            && !crate::servicenow::is_sys_id(ag)
        {
            return Err(fail(
                format!("{gat}.assignment_group"),
                format!("{ag:?} is not a sys_user_group sys_id (32 hex characters)"),
            ));
        }
        let people = if g.people.is_empty() {
            everyone.clone()
        } else {
            let mut people = Vec::new();
            for name in &g.people {
                let person = everyone.iter().find(|p| p.name == name.trim()).ok_or_else(|| {
                    fail(
                        format!("{gat}.people"),
                        format!("{name:?} is not in the roster (names must match agent_list / escalation_list exactly)"),
                    )
                })?;
                if people.iter().any(|p: &Person| p.phone == person.phone) {
                    return Err(fail(
                        format!("{gat}.people"),
                        format!("{name:?} is listed twice"),
                    ));
                }
                people.push(person.clone());
            }
            people
        };
        let incident = template(&g.incident, &line_template)
            .map_err(|(f, p)| fail(format!("{gat}.incident.{f}"), p))?;
        groups.push(Group {
            digit,
            name: gname,
            assignment_group,
            people,
            incident,
        });
    }
    groups.sort_by_key(|g| g.digit);

    let sms_enabled = raw.sms.enabled.unwrap_or(true);
    let sms_group = match &raw.sms.group {
        None => groups[0].digit,
        Some(v) => digit_of(v)
            .filter(|d| groups.iter().any(|g| g.digit == *d))
            .ok_or_else(|| {
                fail(
                    format!("{at}.sms.group"),
                    format!("{v} is not the digit of a configured group"),
                )
            })?,
    };
    let voice = raw
        .voice
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    let language = raw
        .language
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    Ok(Line {
        number,
        name,
        voice,
        language,
        callers,
        live,
        sms_enabled,
        sms_group,
        groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roster() -> Roster {
        Roster::from_json(
            r#"{"agent_list":[{"name":"Alice","phone_no":"+15550100001"},{"name":"Bob","phone_no":"+15550100002"}],
                "escalation_list":[{"name":"Carol","phone_no":"+15550100003"}]}"#,
        )
        .unwrap()
    }

    fn base() -> serde_json::Value {
        serde_json::json!({
            "numbers": [{
                "number": "+15550109999",
                "name": "IT escalation line",
                "groups": [
                    {"digit": "1", "name": "Database", "people": ["Bob", "Carol"], "assignment_group": "0123456789abcdef0123456789abcdef"},
                    {"digit": 2, "name": "Network", "incident": {"impact": 2, "urgency": "3", "fields": {"category": "network"}}}
                ]
            }]
        })
    }

    fn err(v: serde_json::Value) -> String {
        InboundConfig::from_json(&v.to_string(), &roster())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn defaults_and_resolution() {
        let c = InboundConfig::from_json(&base().to_string(), &roster()).unwrap();
        let line = c.line("+15550109999").unwrap();
        assert_eq!(line.callers.withheld, Admission::Refuse);
        assert!(line.callers.roster && line.callers.servicenow_users);
        assert_eq!(line.live.ring_timeout_secs, 20);
        assert_eq!(line.live.max_people, 3);
        assert!(line.sms_enabled);
        assert_eq!(line.sms_group, 1);
        let db = line.group(1).unwrap();
        assert_eq!(
            db.people
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>(),
            ["Bob", "Carol"]
        );
        assert_eq!(
            (db.incident.impact.as_str(), db.incident.urgency.as_str()),
            ("1", "1")
        );
        let net = line.group(2).unwrap();
        assert_eq!(net.people.len(), 3, "no people = the whole roster in order");
        assert_eq!(net.people[0].name, "Alice");
        assert_eq!(
            (net.incident.impact.as_str(), net.incident.urgency.as_str()),
            ("2", "3")
        );
        assert_eq!(net.incident.fields["category"], "network");
        assert_eq!(c.transcription_wait, Duration::from_secs(8));
        assert!(c.line("+15550100001").is_none());
    }

    #[test]
    fn bundled_config_loads_with_the_bundled_roster() {
        let c = InboundConfig::bundled(&Roster::bundled().unwrap()).unwrap();
        assert!(!c.numbers.is_empty());
    }

    #[test]
    fn errors_name_the_entry() {
        let mut v = base();
        v["numbers"][0]["groups"][1]["digit"] = serde_json::json!("0");
        let e = err(v);
        assert!(
            e.contains("numbers[0] (+1******9999).groups[1] (\"Network\").digit"),
            "{e}"
        );

        let mut v = base();
        v["numbers"][0]["groups"][1]["digit"] = serde_json::json!(1);
        assert!(err(v).contains("1 is already used by \"Database\""));

        let mut v = base();
        v["numbers"][0]["groups"][0]["people"] = serde_json::json!(["Bob", "Mallory"]);
        let e = err(v);
        assert!(
            e.contains("groups[0] (\"Database\").people")
                && e.contains("\"Mallory\" is not in the roster"),
            "{e}"
        );

        let mut v = base();
        v["numbers"][0]["number"] = serde_json::json!("+1XXXXXXXXXX");
        let e = err(v);
        assert!(e.contains("numbers[0].number"), "{e}");

        let mut v = base();
        v["numbers"][0]["callers"] = serde_json::json!({"withheld": "pin"});
        assert!(err(v).contains("callers.pin_sha256: is required"));

        let mut v = base();
        v["numbers"][0]["callers"] = serde_json::json!({"withheld": "pin", "pin_sha256": "1234"});
        assert!(err(v).contains("must be 64 hex characters"));

        let mut v = base();
        v["numbers"][0]["callers"] = serde_json::json!({"withheld": "maybe"});
        assert!(err(v).contains("maybe"));

        let mut v = base();
        v["numbers"][0]["incident"] = serde_json::json!({"impact": 4});
        assert!(err(v).contains("numbers[0] (+1******9999).incident.impact"));

        let mut v = base();
        v["numbers"][0]["groups"][0]["incident"] =
            serde_json::json!({"fields": {"caller_id": "x"}});
        assert!(err(v).contains("fields.caller_id: is set by the inbound line itself"));

        let mut v = base();
        v["numbers"][0]["groups"][0]["assignment_group"] = serde_json::json!("Database team");
        assert!(
            err(v).contains("assignment_group: \"Database team\" is not a sys_user_group sys_id")
        );

        let mut v = base();
        v["numbers"][0]["live"] = serde_json::json!({"ring_timeout_secs": 2});
        assert!(err(v).contains("live.ring_timeout_secs"));

        let mut v = base();
        v["numbers"][0]["sms"] = serde_json::json!({"group": 7});
        assert!(err(v).contains("sms.group"));

        let mut v = base();
        v["numbers"][0]["groups"] = serde_json::json!([]);
        assert!(err(v).contains("groups: has 0 entries"));

        let mut v = base();
        let line = v["numbers"][0].clone();
        v["numbers"] = serde_json::json!([line.clone(), line]);
        assert!(err(v).contains("numbers[1] (+1******9999): this number is configured twice"));

        let mut v = base();
        v["numbers"][0]["greeting"] = serde_json::json!("hi");
        assert!(err(v).contains("unknown field `greeting`"));

        let mut v = base();
        v["numbers"][0]["callers"] =
            serde_json::json!({"roster": false, "servicenow_users": false});
        assert!(err(v).contains("admits nobody"));

        let mut v = base();
        v["transcription_wait_secs"] = serde_json::json!(30);
        assert!(err(v).contains("transcription_wait_secs"));
    }
}
