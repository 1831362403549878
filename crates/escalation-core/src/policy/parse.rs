//! The policy document (JSON), validated with errors that name the entry and the field.
//!
//! ```json
//! {"people": {"ana": {"name": "Ana Ortiz", "phone": "+14155550101", "sn_user": "ana.ortiz"}},
//!  "default": {"steps": [{"person": "ana"}]},
//!  "groups": {"Database": {"sys_id": "…", "rounds": 2, "catch_all": {"group": "<sys_id>"},
//!     "steps": [{"rotation": {"name": "DB primary", "members": ["ana", "ben"],
//!                             "handoff": "2026-11-30T09:00", "time_zone": "Europe/Berlin",
//!                             "period": "weekly",
//!                             "overrides": [{"person": "cara", "from": "…", "until": "…"}]},
//!                "ring_timeout_secs": 25, "redials": 1},
//!               {"person": "dan", "escalation": true}],
//!     "priorities": {"1": {"steps": […]}}}}}
//! ```
//!
//! The original demo's roster (`{"agent_list": […], "escalation_list": […]}`) is accepted
//! as the default policy: one step of the agents, one escalation step of the escalation list.

use super::steps::parse_plan;
use super::{Contact, DEFAULT_POLICY, GroupPolicy, Plan, PolicySet, Step, Who};
use crate::model::{E164, Roster};
use jiff::Timestamp;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// The people of the sample roster shipped for the local stack; never called elsewhere.
pub const SAMPLE_NAMES: [&str; 3] = ["Alice Example", "Bob Example", "Carol Example"];

/// One problem, at a path such as `groups.Database.steps[1].rotation.time_zone`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    pub at: String,
    pub problem: String,
}

/// Every problem found in a document (nothing is imported while there is one).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct PolicyErrors(pub Vec<PolicyError>);

impl fmt::Display for PolicyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self
            .0
            .iter()
            .map(|e| format!("{}: {}", e.at, e.problem))
            .collect();
        write!(f, "{}", lines.join("\n"))
    }
}

pub(super) struct Check {
    pub(super) errors: Vec<PolicyError>,
}

impl Check {
    pub(super) fn fail<T>(&mut self, at: &str, problem: impl Into<String>) -> Option<T> {
        self.errors.push(PolicyError {
            at: at.to_string(),
            problem: problem.into(),
        });
        None
    }

    pub(super) fn object<'v>(
        &mut self,
        at: &str,
        v: &'v Value,
        known: &[&str],
    ) -> Option<&'v Map<String, Value>> {
        let Some(map) = v.as_object() else {
            return self.fail(at, "must be a JSON object");
        };
        // An empty list of fields: a map keyed by ids or names.
        for key in map
            .keys()
            .filter(|k| !known.is_empty() && !known.contains(&k.as_str()))
        {
            self.fail::<()>(
                &format!("{at}.{key}"),
                format!("unknown field; expected one of: {}", known.join(", ")),
            );
        }
        Some(map)
    }

    pub(super) fn string(&mut self, at: &str, v: Option<&Value>, required: bool) -> Option<String> {
        match v {
            None | Some(Value::Null) if required => self.fail(at, "is missing"),
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() && required => self.fail(at, "is empty"),
            Some(Value::String(s)) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
            Some(other) => self.fail(at, format!("must be a string, not {other}")),
        }
    }

    pub(super) fn number(&mut self, at: &str, v: Option<&Value>, range: (u32, u32)) -> Option<u32> {
        let v = v.filter(|v| !v.is_null())?;
        match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) if (range.0..=range.1).contains(&n) => Some(n),
            _ => self.fail(
                at,
                format!("{v} must be a whole number from {} to {}", range.0, range.1),
            ),
        }
    }
}

impl PolicySet {
    /// Parse and validate a document, as `policy validate` and `policy import` do: also
    /// refuses a one-time hand-off that is already in the past at `now`.
    pub fn validate(text: &str, now: Timestamp) -> Result<PolicySet, PolicyErrors> {
        let set = PolicySet::from_json(text)?;
        let mut c = Check { errors: Vec::new() };
        for g in set.all() {
            let plans = std::iter::once((String::new(), &g.plan)).chain(
                g.by_priority
                    .iter()
                    .map(|(p, plan)| (format!(".priorities.{p}"), plan)),
            );
            for (variant, plan) in plans {
                for (i, step) in plan.steps.iter().enumerate() {
                    if let Who::Rotation(r) = &step.who
                        && r.period.is_none()
                        && r.handoff_instant().is_some_and(|h| h <= now)
                    {
                        c.fail::<()>(
                            &format!("{}{variant}.steps[{i}].rotation.handoff", path_of(g)),
                            format!("{} is in the past and the rotation has no period, so it would never hand off again; set a period (daily, weekly or {{\"every_days\": N}}) or a future hand-off", r.handoff),
                        );
                    }
                }
            }
        }
        if c.errors.is_empty() {
            Ok(set)
        } else {
            Err(PolicyErrors(c.errors))
        }
    }

    /// Parse and validate a document's shape (no checks against the current time: a
    /// stored document stays readable as time passes).
    pub fn from_json(text: &str) -> Result<PolicySet, PolicyErrors> {
        let one = |at: &str, problem: String| {
            PolicyErrors(vec![PolicyError {
                at: at.into(),
                problem,
            }])
        };
        let doc: Value = serde_json::from_str(text)
            .map_err(|e| one("document", format!("is not valid JSON: {e}")))?;
        if doc.get("agent_list").is_some() || doc.get("escalation_list").is_some() {
            let roster = Roster::from_json(text).map_err(|e| one("roster", e.to_string()))?;
            return Ok(PolicySet::from_roster(&roster));
        }
        let mut c = Check { errors: Vec::new() };
        let set = parse_doc(&mut c, &doc);
        match set {
            Some(set) if c.errors.is_empty() => Ok(set),
            _ => Err(PolicyErrors(c.errors)),
        }
    }

    /// The original demo's roster as the default policy.
    pub fn from_roster(roster: &Roster) -> PolicySet {
        let mut people = BTreeMap::new();
        let mut ids = |list: &[crate::model::Person], prefix: &str| -> Vec<String> {
            list.iter()
                .enumerate()
                .map(|(i, p)| {
                    let id = format!("{prefix}{i}");
                    people.insert(
                        id.clone(),
                        Contact {
                            id: id.clone(),
                            name: p.name.clone(),
                            phone: p.phone.clone(),
                            role: p.role.clone(),
                            sn_user: p.sn_user.clone(),
                            language: p.language.clone(),
                        },
                    );
                    id
                })
                .collect()
        };
        let agents = ids(&roster.agents, "agent_list.");
        let escalation = ids(&roster.escalation, "escalation_list.");
        let step = |who, escalation| Step {
            who: Who::People(who),
            escalation,
            ring_timeout_secs: None,
            redials: None,
            sms: false,
            ring_all: None,
        };
        let mut steps = vec![step(agents, false)];
        if !escalation.is_empty() {
            steps.push(step(escalation, true));
        }
        PolicySet {
            people,
            groups: Vec::new(),
            default: Some(GroupPolicy {
                group: DEFAULT_POLICY.into(),
                sys_id: None,
                plan: Plan {
                    steps,
                    rounds: None,
                    catch_all: None,
                    ring_all: None,
                },
                by_priority: BTreeMap::new(),
            }),
        }
    }

    /// People of the bundled sample roster found in this set ("Alice Example"…), by name.
    pub fn sample_people(&self) -> Vec<String> {
        self.people
            .values()
            .filter(|p| SAMPLE_NAMES.contains(&p.name.as_str()))
            .map(|p| p.name.clone())
            .collect()
    }
}

fn path_of(g: &GroupPolicy) -> String {
    if g.group == DEFAULT_POLICY {
        DEFAULT_POLICY.into()
    } else {
        format!("groups.{}", g.group)
    }
}

fn parse_doc(c: &mut Check, doc: &Value) -> Option<PolicySet> {
    let top = c.object("document", doc, &["people", "default", "groups", "comment"])?;
    let mut people = BTreeMap::new();
    match top.get("people").map(|p| c.object("people", p, &[])) {
        None => return c.fail("people", "is missing; list everyone a policy may call"),
        Some(None) => return None,
        Some(Some(_)) => {}
    }
    let mut numbers: BTreeMap<String, String> = BTreeMap::new();
    for (id, v) in top["people"].as_object()? {
        let at = format!("people.{id}");
        if let Some(p) = parse_person(c, &at, id, v) {
            if let Some(other) = numbers.insert(p.phone.as_str().to_string(), id.clone()) {
                c.fail::<()>(
                    &format!("{at}.phone"),
                    format!(
                        "{} is also the number of people.{other}; each person once",
                        p.phone.masked()
                    ),
                );
            }
            people.insert(id.clone(), p);
        }
    }
    let default = top
        .get("default")
        .and_then(|v| parse_group(c, DEFAULT_POLICY, DEFAULT_POLICY, v, &people, false));
    let mut groups = Vec::new();
    if let Some(v) = top.get("groups") {
        for (name, g) in c.object("groups", v, &[]).into_iter().flatten() {
            let at = format!("groups.{name}");
            if name.trim().is_empty() || name.eq_ignore_ascii_case(DEFAULT_POLICY) {
                c.fail::<()>(
                    &at,
                    "a group needs its ServiceNow name; the default policy goes under \"default\"",
                );
                continue;
            }
            if let Some(g) = parse_group(c, &at, name, g, &people, true) {
                groups.push(g);
            }
        }
    }
    if default.is_none() && groups.is_empty() && c.errors.is_empty() {
        return c.fail("document", "has no \"default\" policy and no \"groups\"");
    }
    Some(PolicySet {
        people,
        groups,
        default,
    })
}

fn parse_person(c: &mut Check, at: &str, id: &str, v: &Value) -> Option<Contact> {
    let m = c.object(at, v, &["name", "phone", "role", "sn_user", "language"])?;
    let name = c.string(&format!("{at}.name"), m.get("name"), true);
    let phone = match c.string(&format!("{at}.phone"), m.get("phone"), true) {
        Some(p) => E164::parse(&p)
            .map_err(|e| {
                c.fail::<()>(
                    &format!("{at}.phone"),
                    format!("{e}; this person could not be called"),
                )
            })
            .ok(),
        None => None,
    };
    let role = c.string(&format!("{at}.role"), m.get("role"), false);
    let sn_user = c.string(&format!("{at}.sn_user"), m.get("sn_user"), false);
    let language = c.string(&format!("{at}.language"), m.get("language"), false);
    Some(Contact {
        id: id.to_string(),
        name: name?,
        phone: phone?,
        role,
        sn_user,
        language,
    })
}

fn parse_group(
    c: &mut Check,
    at: &str,
    name: &str,
    v: &Value,
    people: &BTreeMap<String, Contact>,
    is_group: bool,
) -> Option<GroupPolicy> {
    let known: &[&str] = if is_group {
        &[
            "sys_id",
            "steps",
            "rounds",
            "catch_all",
            "priorities",
            "ring",
            "comment",
        ]
    } else {
        &[
            "steps",
            "rounds",
            "catch_all",
            "priorities",
            "ring",
            "comment",
        ]
    };
    let m = c.object(at, v, known)?;
    let sys_id = c.string(&format!("{at}.sys_id"), m.get("sys_id"), false);
    let plan = parse_plan(c, at, m, people);
    let mut by_priority = BTreeMap::new();
    if let Some(p) = m.get("priorities") {
        for (prio, pv) in c
            .object(&format!("{at}.priorities"), p, &[])
            .into_iter()
            .flatten()
        {
            let pat = format!("{at}.priorities.{prio}");
            if !matches!(prio.as_str(), "1" | "2" | "3" | "4" | "5") {
                c.fail::<()>(&pat, "a priority is \"1\" to \"5\"");
                continue;
            }
            let known = ["steps", "rounds", "catch_all", "ring", "comment"];
            let Some(pm) = c.object(&pat, pv, &known) else {
                continue;
            };
            // A variant that only sets "ring" keeps the policy's own steps.
            if !pm.contains_key("steps") && pm.contains_key("ring") {
                let ring_all = super::steps::parse_ring(c, &pat, pm.get("ring"));
                if let (Some(base), Some(ring_all)) = (&plan, ring_all) {
                    let mut variant = base.clone();
                    variant.ring_all = Some(ring_all);
                    let rounds = c.number(&format!("{pat}.rounds"), pm.get("rounds"), (1, 10));
                    variant.rounds = rounds.or(base.rounds);
                    if pm.contains_key("catch_all") {
                        c.fail::<()>(
                            &format!("{pat}.catch_all"),
                            "a variant without its own steps keeps the policy's catch-all",
                        );
                        continue;
                    }
                    by_priority.insert(prio.clone(), variant);
                }
                continue;
            }
            if let Some(plan) = parse_plan(c, &pat, pm, people) {
                by_priority.insert(prio.clone(), plan);
            }
        }
    }
    Some(GroupPolicy {
        group: name.trim().to_string(),
        sys_id,
        plan: plan?,
        by_priority,
    })
}
