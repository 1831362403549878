//! The text messages of the SMS path, per language: the offer sent when a call is not
//! answered, and the answers to a reply. Placeholders: `{heading}` (number, priority and
//! group: "INC0010042 P1 Database"), `{description}`, `{number}`, `{name}`.

use super::Locale;
use crate::model::Incident;
use crate::spoken::{is_cut, spoken};

/// The words of the SMS path in one language.
#[derive(Debug, PartialEq, Eq)]
pub struct SmsTexts {
    /// The offer. `{heading}`, `{description}`.
    pub offer: &'static str,
    /// A 1 was applied. `{number}`.
    pub accepted: &'static str,
    /// A 2 was applied. `{number}`.
    pub passed: &'static str,
    /// Someone else accepted first. `{number}`, `{name}`.
    pub taken: &'static str,
    /// The escalation ended without an accept (nobody accepted, or it was handled in
    /// ServiceNow). `{number}`.
    pub over: &'static str,
    /// A 1 or 2 from a number with no open offer.
    pub no_offer: &'static str,
    /// The reply could not be applied right now (storage unavailable).
    pub failed: &'static str,
}

/// The description in an offer is cut at a word to this many characters, so that a whole
/// offer fits one or two SMS segments.
pub const SMS_DESCRIPTION_CHARS: usize = 90;
const SMS_GROUP_CHARS: usize = 40;

/// The offer for `incident` in `locale`: "INC0010042 P1 Database: Orders DB down. Reply 1
/// to accept, 2 to pass." Incident text is made plain ([`spoken`]: no markup or control
/// characters, `&` as "and") and capped; nothing but the incident's number, priority,
/// group and short description goes in.
pub fn offer(locale: &Locale, incident: &Incident) -> String {
    let mut heading = spoken(&incident.number, 40);
    let priority = spoken(incident.priority.trim(), 10);
    if !priority.is_empty() {
        heading.push_str(&format!(" P{priority}"));
    }
    if let Some(group) = incident
        .assignment_group_name
        .as_deref()
        .map(|g| spoken(g, SMS_GROUP_CHARS))
        .filter(|g| !g.is_empty())
    {
        heading.push(' ');
        heading.push_str(&group);
    }
    let mut description = spoken(&incident.short_description, SMS_DESCRIPTION_CHARS);
    if is_cut(&incident.short_description, SMS_DESCRIPTION_CHARS) {
        description.push('…');
    }
    let description = description.trim_end_matches(['.', '!', '?']).to_owned();
    locale
        .texts
        .sms
        .offer
        .replace("{heading}", &heading)
        .replace("{description}", &description)
        // A cut description ends in an ellipsis, not in "…." .
        .replace("….", "…")
}

/// `text` with the incident `number` and the `name` of whoever accepted filled in.
pub fn fill(text: &str, number: &str, name: &str) -> String {
    text.replace("{number}", number).replace("{name}", name)
}
