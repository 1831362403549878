//! The script of a bundle call: one call about several incidents that wait for the same
//! person. It fills the same prompts as a call about one incident, so the flow speaks it
//! unchanged: the details count the incidents, 9 reads them one by one, and the answers
//! confirm all of them.

use super::{CallScript, GROUP_CHARS, Locale, SHORT_DESCRIPTION_CHARS, sentence};
use crate::model::Incident;
use crate::spoken::{spell, spoken};

/// The words of a bundle call, per language. Placeholders: `{count}` (how many incidents),
/// `{priority}`, `{teams}` (the `team` or `teams` phrase, or nothing), `{group}`, `{index}`,
/// `{number}`, `{description}`.
#[derive(Debug, PartialEq, Eq)]
pub struct BundleTexts {
    /// Every incident has the same priority. `{count}`, `{priority}`, `{teams}`.
    pub same: &'static str,
    /// Mixed priorities; `{priority}` is the most urgent. `{count}`, `{priority}`, `{teams}`.
    pub mixed: &'static str,
    /// No priority is a number. `{count}`, `{teams}`.
    pub unknown: &'static str,
    /// Every incident is for the same group. `{group}`.
    pub team: &'static str,
    /// The incidents are for several groups. `{teams}` (how many).
    pub teams: &'static str,
    /// The choices, after the details.
    pub menu: &'static str,
    /// After 9, one per incident. `{index}`, `{count}`, `{number}`, `{priority}`,
    /// `{description}`.
    pub item: &'static str,
    /// After 1. `{count}`.
    pub accepted: &'static str,
    /// After 2. `{count}`.
    pub passed: &'static str,
    /// After 3. `{count}`.
    pub escalated: &'static str,
}

impl CallScript {
    /// The script of a call about `incidents` (the call request's own first, then the others
    /// in the order the call reads them) in `locale`. One incident: [`CallScript::new`].
    pub fn bundle(locale: &'static Locale, incidents: &[&Incident]) -> CallScript {
        if let [one] = incidents {
            return CallScript::new(locale, one);
        }
        let t = &locale.texts.bundle;
        let count = incidents.len().to_string();
        let with_count = |text: &str| text.replace("{count}", &count);
        let mut groups: Vec<String> = incidents
            .iter()
            .filter_map(|i| i.assignment_group_name.as_deref())
            .map(|g| spoken(g, GROUP_CHARS))
            .filter(|g| !g.is_empty())
            .collect();
        groups.sort_unstable();
        groups.dedup();
        let teams = match groups.as_slice() {
            [] => String::new(),
            [group] => t.team.replace("{group}", group),
            many => t.teams.replace("{teams}", &many.len().to_string()),
        };
        let priorities: Vec<Option<u32>> = incidents
            .iter()
            .map(|i| i.priority.trim().parse().ok())
            .collect();
        let most_urgent = priorities.iter().flatten().min();
        let opening = match most_urgent {
            None => t.unknown,
            Some(p) if priorities.iter().all(|q| q == &Some(*p)) => t.same,
            Some(_) => t.mixed,
        };
        let details = with_count(opening)
            .replace(
                "{priority}",
                &most_urgent.map(u32::to_string).unwrap_or_default(),
            )
            .replace("{teams}", &teams);
        let full: Vec<String> = incidents
            .iter()
            .enumerate()
            .map(|(n, i)| {
                let description = spoken(&i.short_description, SHORT_DESCRIPTION_CHARS);
                let item = with_count(t.item)
                    .replace("{index}", &(n + 1).to_string())
                    .replace("{number}", &spell(&spoken(&i.number, 40)))
                    .replace("{priority}", &spoken(i.priority.trim(), 10));
                sentence(
                    item.replace("{description}", &description)
                        .trim_end_matches([',', ' ']),
                )
            })
            .collect();
        let texts = locale.texts;
        CallScript {
            language: locale.tag,
            voice: locale.voice,
            details,
            menu: t.menu.to_owned(),
            full: full.join(" "),
            accepted: with_count(t.accepted),
            passed: with_count(t.passed),
            reason: texts.reason.to_owned(),
            escalated: with_count(t.escalated),
            invalid: texts.invalid.to_owned(),
            use_keypad: texts.use_keypad.to_owned(),
            bridge_offer: texts.bridge_offer.to_owned(),
        }
    }
}
