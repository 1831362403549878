//! Every word a person hears on an escalation call, per language.
//!
//! One [`Texts`] per language ([`en`], [`de`]); a [`Locale`] pairs a language tag with the
//! voice that speaks it and its texts. [`CallScript::new`] fills the texts in for one
//! incident; the Twilio adapter puts the result in the call's parameters, so one Studio flow
//! speaks every language. Adding a language: write a `Texts` (the compiler asks for every
//! prompt), add its locales to [`LOCALES`], and regenerate docs/CALLS.md (a test compares it).
//!
//! Placeholders: `{number}` (the incident number, spelled character by character),
//! `{priority}`, `{priority_name}`, `{group}`, `{description}`. The tests check that each text
//! uses only the placeholders its prompt is given and holds no speech markup.

mod bundle;
mod de;
mod en;
pub mod sms;

use crate::model::Incident;
use crate::spoken::{is_cut, spell, spoken};

pub use bundle::BundleTexts;

/// The words of one language. Every field is required: a new language is complete or it
/// does not compile.
#[derive(Debug, PartialEq, Eq)]
pub struct Texts {
    /// The language's own name ("English", "Deutsch").
    pub name: &'static str,
    /// Opens the call. `{number}`.
    pub intro: &'static str,
    /// `{priority}`, `{priority_name}` (from `priority_names`, when ServiceNow's 1 to 5).
    pub priority: &'static str,
    /// Names of priorities 1 to 5.
    pub priority_names: [&'static str; 5],
    /// A priority outside 1 to 5. `{priority}`.
    pub priority_other: &'static str,
    /// `{group}`; left out when the incident names no group.
    pub group: &'static str,
    /// Says the (possibly shortened) short description. `{description}`.
    pub description: &'static str,
    /// Follows a shortened description.
    pub more: &'static str,
    /// The choices, after the details.
    pub menu: &'static str,
    /// After 9: the whole description. `{description}`.
    pub full: &'static str,
    /// After 1. `{number}`.
    pub accepted: &'static str,
    /// After 2. `{number}`.
    pub passed: &'static str,
    /// After 2, before the goodbye: asks why (1 driving, 2 no laptop, 3 not my area); no
    /// key is fine.
    pub reason: &'static str,
    /// After 3. `{number}`.
    pub escalated: &'static str,
    /// After 1, when the press was applied during the call: the incident is theirs.
    /// `{number}`.
    pub assigned: &'static str,
    /// After 1 (or 2), when someone else accepted first. `{name}`.
    pub already_accepted: &'static str,
    /// After a key, when the escalation no longer needs this call (it ended, was cancelled,
    /// or moved on). `{number}`.
    pub no_longer_needed: &'static str,
    /// After a key that is not a choice; the choices follow again.
    pub invalid: &'static str,
    /// After speech instead of a key; the details and choices follow again.
    pub use_keypad: &'static str,
    /// The short description of a test call (`escalation-admin test-call`).
    pub test_call: &'static str,
    /// After the acceptance, when the bridge is on: the offer to open one.
    pub bridge_offer: &'static str,
    /// The person who pressed 4, before the conference. `{number}`, `{callee}`.
    pub bridge_opening: &'static str,
    /// The person who pressed 4, when nobody is left to call in. `{number}`.
    pub bridge_nobody: &'static str,
    /// The person called into the bridge, when they answer. `{caller}`, `{number}`.
    pub bridge_whisper: &'static str,
    /// The called person pressed 1.
    pub bridge_joining: &'static str,
    /// The called person pressed nothing (or another key).
    pub bridge_declined: &'static str,
    /// The text messages of the SMS path.
    pub sms: sms::SmsTexts,
    /// The words of a call about several incidents ([`CallScript::bundle`]).
    pub bundle: bundle::BundleTexts,
}

/// A language tag as Twilio's `<Say language>` takes it, the voice for it, and its texts.
#[derive(Debug, PartialEq, Eq)]
pub struct Locale {
    pub tag: &'static str,
    pub voice: &'static str,
    pub texts: &'static Texts,
}

/// Every language the calls speak. The first is the default.
pub const LOCALES: &[Locale] = &[
    Locale {
        tag: "en-US",
        voice: "Polly.Joanna",
        texts: &en::TEXTS,
    },
    Locale {
        tag: "en-GB",
        voice: "Polly.Amy",
        texts: &en::TEXTS,
    },
    Locale {
        tag: "de-DE",
        voice: "Polly.Marlene",
        texts: &de::TEXTS,
    },
];

/// The language of a person who names none (or one that is not in [`LOCALES`]).
pub const DEFAULT_LANGUAGE: &str = "en-US";

/// The short description is read up to this many characters; a longer one is cut at a
/// word and followed by "press 9 to hear the full description".
pub const SHORT_DESCRIPTION_CHARS: usize = 120;
/// Pressing 9 reads the short description up to this many characters.
pub const FULL_DESCRIPTION_CHARS: usize = 300;
/// Group names are read up to this many characters.
const GROUP_CHARS: usize = 80;

/// The locale for a requested language tag: the exact tag (case does not matter), else the
/// first locale of the same language ("de-AT" → "de-DE", "en" → "en-US"), else the default.
pub fn locale(requested: Option<&str>) -> &'static Locale {
    requested.and_then(find).unwrap_or(&LOCALES[0])
}

/// The locale `requested` names, exactly or by its language; `None` if no locale speaks it.
pub fn find(requested: &str) -> Option<&'static Locale> {
    let requested = requested.trim().replace('_', "-");
    let primary = |tag: &str| tag.split('-').next().unwrap_or("").to_ascii_lowercase();
    let want = primary(&requested);
    LOCALES
        .iter()
        .find(|l| l.tag.eq_ignore_ascii_case(&requested))
        .or_else(|| {
            LOCALES
                .iter()
                .find(|l| !want.is_empty() && primary(l.tag) == want)
        })
}

/// What is said on one call, filled in for one incident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallScript {
    pub language: &'static str,
    pub voice: &'static str,
    /// Number, priority, group and (shortened) description.
    pub details: String,
    pub menu: String,
    pub full: String,
    pub accepted: String,
    pub passed: String,
    pub reason: String,
    pub escalated: String,
    pub invalid: String,
    pub use_keypad: String,
    pub bridge_offer: String,
}

impl CallScript {
    /// The script of a call about `incident` in `locale`. Incident text is made plain words
    /// ([`spoken`]) before it is put in a prompt.
    pub fn new(locale: &'static Locale, incident: &Incident) -> CallScript {
        let t = locale.texts;
        let number = spell(&spoken(&incident.number, 40));
        let fill = |text: &str| text.replace("{number}", &number);
        let priority = incident.priority.trim();
        let priority_line = match priority.parse::<usize>() {
            Ok(p @ 1..=5) => t
                .priority
                .replace("{priority}", priority)
                .replace("{priority_name}", t.priority_names[p - 1]),
            _ => t
                .priority_other
                .replace("{priority}", &spoken(priority, 10)),
        };
        let mut details = vec![fill(t.intro), priority_line];
        if let Some(group) = incident
            .assignment_group_name
            .as_deref()
            .map(|g| spoken(g, GROUP_CHARS))
            .filter(|g| !g.is_empty())
        {
            details.push(t.group.replace("{group}", &group));
        }
        let short = spoken(&incident.short_description, SHORT_DESCRIPTION_CHARS);
        if !short.is_empty() {
            // A cut description trails off (a pause, not the end of a sentence).
            let cut = is_cut(&incident.short_description, SHORT_DESCRIPTION_CHARS);
            let text = if cut {
                format!("{short} …")
            } else {
                sentence(&short)
            };
            details.push(t.description.replace("{description}", &text));
            if cut {
                details.push(t.more.to_owned());
            }
        }
        let full = spoken(&incident.short_description, FULL_DESCRIPTION_CHARS);
        CallScript {
            language: locale.tag,
            voice: locale.voice,
            details: details.join(" "),
            menu: t.menu.to_owned(),
            full: t.full.replace("{description}", &sentence(&full)),
            accepted: fill(t.accepted),
            passed: fill(t.passed),
            reason: t.reason.to_owned(),
            escalated: fill(t.escalated),
            invalid: t.invalid.to_owned(),
            use_keypad: t.use_keypad.to_owned(),
            bridge_offer: t.bridge_offer.to_owned(),
        }
    }

    /// Each prompt with the name the call's parameters give it (`say_details`, ...).
    pub fn prompts(&self) -> [(&'static str, &str); 10] {
        [
            ("say_details", &self.details),
            ("say_menu", &self.menu),
            ("say_full", &self.full),
            ("say_accepted", &self.accepted),
            ("say_passed", &self.passed),
            ("say_reason", &self.reason),
            ("say_escalated", &self.escalated),
            ("say_invalid", &self.invalid),
            ("say_use_keypad", &self.use_keypad),
            ("say_bridge_offer", &self.bridge_offer),
        ]
    }
}

/// What a person hears once their decision was applied during the call (or, on another
/// channel, what they are answered): the texts of `locale`, filled in for `incident`.
pub mod decision {
    use super::{Locale, spoken};
    use crate::model::Incident;
    use crate::spoken::spell;

    /// The length a name is read up to.
    const NAME_CHARS: usize = 80;

    fn number(incident: &Incident) -> String {
        spell(&spoken(&incident.number, 40))
    }

    /// "You are assigned incident I N C, 0 0 1 0 0 4 2."
    pub fn assigned(locale: &Locale, incident: &Incident) -> String {
        locale.texts.assigned.replace("{number}", &number(incident))
    }

    /// "You passed incident … to the next person. Goodbye."
    pub fn passed(locale: &Locale, incident: &Incident) -> String {
        locale.texts.passed.replace("{number}", &number(incident))
    }

    /// "This incident was already accepted by Bob Agent. Thank you."
    pub fn already_accepted(locale: &Locale, by: &str) -> String {
        locale
            .texts
            .already_accepted
            .replace("{name}", &spoken(by, NAME_CHARS))
    }

    /// "Incident … no longer needs you. Thank you."
    pub fn no_longer_needed(locale: &Locale, incident: &Incident) -> String {
        locale
            .texts
            .no_longer_needed
            .replace("{number}", &number(incident))
    }
}

/// What the bridge says (the agent who opens it, the person called in), in one language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BridgeScript {
    pub language: &'static str,
    pub voice: &'static str,
    /// To the agent: the bridge is opening and whom it calls.
    pub opening: String,
    /// To the agent: nobody is left to call in.
    pub nobody: String,
    /// To the person called in: who asks, for which incident; press 1.
    pub whisper: String,
    pub joining: String,
    pub declined: String,
}

impl BridgeScript {
    /// The bridge of `incident_number`, opened by `caller`, calling `callee`, in `locale`.
    /// Names and the number are made plain words first.
    pub fn new(
        locale: &'static Locale,
        incident_number: &str,
        caller: &str,
        callee: &str,
    ) -> BridgeScript {
        let t = locale.texts;
        let number = spell(&spoken(incident_number, 40));
        let fill = |text: &str| {
            text.replace("{number}", &number)
                .replace("{caller}", &spoken(caller, 80))
                .replace("{callee}", &spoken(callee, 80))
        };
        BridgeScript {
            language: locale.tag,
            voice: locale.voice,
            opening: fill(t.bridge_opening),
            nobody: fill(t.bridge_nobody),
            whisper: fill(t.bridge_whisper),
            joining: t.bridge_joining.to_owned(),
            declined: t.bridge_declined.to_owned(),
        }
    }
}

/// `text` ending in a full stop (unless it already ends a sentence).
fn sentence(text: &str) -> String {
    if text.ends_with(['.', '!', '?']) {
        text.to_owned()
    } else {
        format!("{text}.")
    }
}

#[cfg(test)]
mod tests;
