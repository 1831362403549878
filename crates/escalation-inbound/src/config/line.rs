//! The validation of one configured number: who may call, how callers are put through,
//! the incident template, the teams and texts.

use super::raw::{RawLine, digit_of, template};
use super::{
    Admission, CallerPolicy, Group, InboundConfigError, IncidentTemplate, Line, LiveRouting, Team,
};
use escalation_core::model::phone::mask;
use escalation_core::model::{E164, Person, Roster, SysId};
use std::collections::BTreeMap;

pub(super) fn validate_line(
    i: usize,
    raw: RawLine,
    roster: &Roster,
) -> Result<Line, InboundConfigError> {
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
                    mask(&number_text)
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
            && !SysId::is_valid(ag)
        {
            return Err(fail(
                format!("{gat}.assignment_group"),
                format!("{ag:?} is not a sys_user_group sys_id (32 hex characters)"),
            ));
        }
        let people = if g.people.is_empty() {
            Team::OnCall
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
            Team::Named(people)
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
