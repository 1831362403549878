//! The on-call roster: who is called, in which order.
//!
//! The original demo's format (`assets/agent_list.json`) loads unchanged:
//! `{"agent_list":[{"name","phone_no","role","index"}], "escalation_list":[...]}`.
//! Optional extensions per entry: `sn_user` (sys_user sys_id or user_name, used for
//! `assigned_to`) and `language`.

use super::E164;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Which of the two call lists a person is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListKind {
    Agents,
    Escalation,
}

impl ListKind {
    pub fn label(self) -> &'static str {
        match self {
            ListKind::Agents => "agent",
            ListKind::Escalation => "escalation contact",
        }
    }
}

/// One person who can be called.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub name: String,
    pub phone: E164,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sn_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The policy step's ring timeout, when it sets one (else the deployment's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring_timeout_secs: Option<u32>,
    /// The policy step's redials, when it sets one (else the deployment's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redials: Option<u32>,
    /// This person starts a policy step marked as an escalation step: digit 3 jumps here.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub escalation_step: bool,
    /// The policy step sends a text message when a call to this person is not answered
    /// (no answer, busy, voicemail): reply 1 accepts, 2 passes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sms_when_unanswered: bool,
    /// This person is in a policy step whose people are all called at once ("ring": "all"):
    /// the step's index. People next to each other on one list with the same value ring
    /// together; the first to accept wins and the others' calls are hung up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring_step: Option<u32>,
}

/// Both call lists, validated and in call order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roster {
    pub agents: Vec<Person>,
    pub escalation: Vec<Person>,
    /// Where this lineup came from ("stored policy Database"), for the started note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RosterError {
    #[error("roster is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("roster: {list} is empty; at least one person is needed")]
    Empty { list: &'static str },
    #[error("roster: {list}[{position}] ({name:?}): {problem}")]
    Entry {
        list: &'static str,
        position: usize,
        name: String,
        problem: String,
    },
}

#[derive(Deserialize)]
struct RawRoster {
    agent_list: Option<Vec<RawEntry>>,
    escalation_list: Option<Vec<RawEntry>>,
}

#[derive(Deserialize)]
struct RawEntry {
    name: Option<String>,
    phone_no: Option<String>,
    role: Option<String>,
    index: Option<serde_json::Value>,
    sn_user: Option<String>,
    language: Option<String>,
}

const AGENTS: &str = "agent_list";
const ESCALATION: &str = "escalation_list";

impl Roster {
    pub fn from_json(text: &str) -> Result<Roster, RosterError> {
        let raw: RawRoster = serde_json::from_str(text)?;
        let agents = validate_list(AGENTS, raw.agent_list.unwrap_or_default())?;
        let escalation = validate_list(ESCALATION, raw.escalation_list.unwrap_or_default())?;
        let roster = Roster {
            agents,
            escalation,
            source: None,
        };
        roster.check_unique()?;
        Ok(roster)
    }

    pub fn list(&self, kind: ListKind) -> &[Person] {
        match kind {
            ListKind::Agents => &self.agents,
            ListKind::Escalation => &self.escalation,
        }
    }

    /// Everyone on either list, agents first.
    pub fn people(&self) -> impl Iterator<Item = &Person> {
        self.agents.iter().chain(&self.escalation)
    }

    fn check_unique(&self) -> Result<(), RosterError> {
        let mut seen: HashMap<&str, (&'static str, usize, &str)> = HashMap::new();
        let all = self
            .agents
            .iter()
            .enumerate()
            .map(|(i, p)| (AGENTS, i, p))
            .chain(
                self.escalation
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (ESCALATION, i, p)),
            );
        for (list, position, person) in all {
            if let Some((l0, p0, n0)) =
                seen.insert(person.phone.as_str(), (list, position, &person.name))
            {
                return Err(RosterError::Entry {
                    list,
                    position,
                    name: person.name.clone(),
                    problem: format!(
                        "phone_no {} is already used by {l0}[{p0}] ({n0:?}); each number may appear once, or the same person would be called twice",
                        person.phone.masked()
                    ),
                });
            }
        }
        Ok(())
    }
}

fn validate_list(list: &'static str, raw: Vec<RawEntry>) -> Result<Vec<Person>, RosterError> {
    if raw.is_empty() {
        return Err(RosterError::Empty { list });
    }
    let with_index = raw.iter().filter(|e| e.index.is_some()).count();
    let mut keyed = Vec::with_capacity(raw.len());
    for (position, entry) in raw.into_iter().enumerate() {
        let name = entry.name.clone().unwrap_or_default();
        let fail = |problem: String| RosterError::Entry {
            list,
            position,
            name: name.clone(),
            problem,
        };
        let trimmed = name.trim();
        if trimmed.is_empty() {
            return Err(fail("name is missing or empty".into()));
        }
        if trimmed.len() > 100 {
            return Err(fail("name is longer than 100 characters".into()));
        }
        let phone_raw = entry
            .phone_no
            .ok_or_else(|| fail("phone_no is missing".into()))?;
        let phone = E164::parse(phone_raw.trim()).map_err(|e| fail(format!("phone_no {e}")))?;
        let index = match (&entry.index, with_index) {
            (Some(v), _) => Some(
                v.as_u64()
                    .ok_or_else(|| fail(format!("index {v} is not a non-negative integer")))?,
            ),
            (None, 0) => None,
            (None, _) => {
                return Err(fail(
                    "index is missing, but other entries of this list have one; give every entry an index or none".into(),
                ));
            }
        };
        let sn_user = entry
            .sn_user
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        keyed.push((
            index.unwrap_or(position as u64),
            position,
            Person {
                name: trimmed.to_string(),
                phone,
                role: entry.role,
                sn_user,
                language: entry.language,
                ring_timeout_secs: None,
                redials: None,
                escalation_step: false,
                sms_when_unanswered: false,
                ring_step: None,
            },
        ));
    }
    keyed.sort_by_key(|(index, position, _)| (*index, *position));
    for pair in keyed.windows(2) {
        if pair[0].0 == pair[1].0 && with_index > 0 {
            return Err(RosterError::Entry {
                list,
                position: pair[1].1,
                name: pair[1].2.name.clone(),
                problem: format!("index {} is used twice in {list}", pair[1].0),
            });
        }
    }
    Ok(keyed.into_iter().map(|(_, _, p)| p).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = r#"{
  "agent_list":[
    { "name": "Arun Wagle", "phone_no": "+12016588268", "role": "Customer Support", "index": 1 }
  ],
  "escalation_list":[
    { "name": "Naina Hegde", "phone_no": "+12122035048", "role": "Director", "index": 0 }
  ]
}"#;

    #[test]
    fn loads_the_original_demo_format_unchanged() {
        let r = Roster::from_json(DEMO).unwrap();
        assert_eq!(r.agents.len(), 1);
        assert_eq!(r.agents[0].name, "Arun Wagle");
        assert_eq!(r.agents[0].phone.as_str(), "+12016588268");
        assert_eq!(r.agents[0].role.as_deref(), Some("Customer Support"));
        assert_eq!(r.escalation[0].name, "Naina Hegde");
    }

    #[test]
    fn bundled_sample_roster_is_valid() {
        let r = Roster::from_json(include_str!("../../../../assets/agent_list.json")).unwrap();
        assert!(!r.agents.is_empty() && !r.escalation.is_empty());
    }

    #[test]
    fn placeholder_number_is_rejected_naming_the_entry() {
        let text = DEMO.replace("+12122035048", "+1XXXXXXXXXX");
        let err = Roster::from_json(&text).unwrap_err().to_string();
        assert!(err.contains("escalation_list[0]"), "{err}");
        assert!(err.contains("Naina Hegde"), "{err}");
        assert!(err.contains("+1XXXXXXXXXX"), "{err}");
    }

    #[test]
    fn order_follows_index_then_array_order() {
        let text = r#"{"agent_list":[
            {"name":"C","phone_no":"+15550100003","index":3},
            {"name":"A","phone_no":"+15550100001","index":1},
            {"name":"B","phone_no":"+15550100002","index":2}],
          "escalation_list":[
            {"name":"Y","phone_no":"+15550100009"},
            {"name":"X","phone_no":"+15550100008"}]}"#;
        let r = Roster::from_json(text).unwrap();
        let names: Vec<_> = r.agents.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["A", "B", "C"]);
        let names: Vec<_> = r.escalation.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Y", "X"]);
    }

    #[test]
    fn empty_or_missing_lists_are_rejected() {
        let err = Roster::from_json(
            r#"{"agent_list":[],"escalation_list":[{"name":"X","phone_no":"+15550100008"}]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("agent_list is empty"), "{err}");
        let err = Roster::from_json(r#"{"agent_list":[{"name":"X","phone_no":"+15550100008"}]}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("escalation_list is empty"), "{err}");
    }

    #[test]
    fn duplicate_numbers_are_rejected() {
        let text = r#"{"agent_list":[{"name":"A","phone_no":"+15550100001"},{"name":"B","phone_no":"+15550100001"}],
            "escalation_list":[{"name":"X","phone_no":"+15550100008"}]}"#;
        let err = Roster::from_json(text).unwrap_err().to_string();
        assert!(
            err.contains("agent_list[1]") && err.contains("agent_list[0]"),
            "{err}"
        );
        let text = r#"{"agent_list":[{"name":"A","phone_no":"+15550100001"}],
            "escalation_list":[{"name":"X","phone_no":"+15550100001"}]}"#;
        assert!(
            Roster::from_json(text)
                .unwrap_err()
                .to_string()
                .contains("escalation_list[0]")
        );
    }

    #[test]
    fn missing_fields_and_bad_index_are_named() {
        let text = r#"{"agent_list":[{"phone_no":"+15550100001"}],"escalation_list":[{"name":"X","phone_no":"+15550100008"}]}"#;
        assert!(
            Roster::from_json(text)
                .unwrap_err()
                .to_string()
                .contains("name is missing")
        );
        let text = r#"{"agent_list":[{"name":"A"}],"escalation_list":[{"name":"X","phone_no":"+15550100008"}]}"#;
        assert!(
            Roster::from_json(text)
                .unwrap_err()
                .to_string()
                .contains("phone_no is missing")
        );
        let text = r#"{"agent_list":[{"name":"A","phone_no":"+15550100001","index":-1}],"escalation_list":[{"name":"X","phone_no":"+15550100008"}]}"#;
        assert!(
            Roster::from_json(text)
                .unwrap_err()
                .to_string()
                .contains("index -1")
        );
        let text = r#"{"agent_list":[{"name":"A","phone_no":"+15550100001","index":1},{"name":"B","phone_no":"+15550100002"}],"escalation_list":[{"name":"X","phone_no":"+15550100008"}]}"#;
        let err = Roster::from_json(text).unwrap_err().to_string();
        assert!(
            err.contains("agent_list[1]") && err.contains("index is missing"),
            "{err}"
        );
        let text = r#"{"agent_list":[{"name":"A","phone_no":"+15550100001","index":1},{"name":"B","phone_no":"+15550100002","index":1}],"escalation_list":[{"name":"X","phone_no":"+15550100008"}]}"#;
        assert!(
            Roster::from_json(text)
                .unwrap_err()
                .to_string()
                .contains("used twice")
        );
    }

    #[test]
    fn extensions_are_kept() {
        let text = r#"{"agent_list":[{"name":"A","phone_no":"+15550100001","sn_user":"beth.anglin","language":"en-GB"}],
            "escalation_list":[{"name":"X","phone_no":"+15550100008"}]}"#;
        let r = Roster::from_json(text).unwrap();
        assert_eq!(r.agents[0].sn_user.as_deref(), Some("beth.anglin"));
        assert_eq!(r.agents[0].language.as_deref(), Some("en-GB"));
    }
}
