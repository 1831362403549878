//! Escalation policies: who is called for an incident of a group, in which order.
//!
//! A [`PolicySet`] holds a policy per assignment group plus an optional default; a group's
//! policy may have variants per priority. A policy is an ordered list of [`Step`]s, each
//! naming who is called — one person, an ordered list of people, or a [`Rotation`] — with
//! its own ring timeout and redials; a step may be marked as an escalation step (press 3
//! jumps to the next one). The policy has rounds and an optional catch-all.
//!
//! [`PolicySet::resolve`] answers "who is on call for group G at instant T" as a
//! [`Lineup`]: the people in call order, a person in two steps called once. Pure: the
//! instant is passed in and time zones come from the tz database bundled in the binary.
//!
//! - `parse`: the JSON document (and the original `agent_list.json` format), validated
//!   with errors that name the entry and the field.
//! - `steps`: a policy's steps, rotations and overrides in the document.
//! - `rotation`: who a rotation puts on call at an instant.
//! - `resolve`: the lineup, and the roster the walk follows.

mod parse;
mod resolve;
mod rotation;
mod steps;

#[cfg(test)]
mod tests;

pub use parse::{PolicyError, PolicyErrors, SAMPLE_NAMES};
pub use resolve::{Called, Lineup, LineupStep, NoPolicy};
pub use rotation::OnCall;

use crate::model::E164;
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use std::collections::BTreeMap;

/// The name under which the default policy is shown and stored.
pub const DEFAULT_POLICY: &str = "default";

/// Every policy of a deployment, validated.
#[derive(Clone, Debug)]
pub struct PolicySet {
    /// Everyone a policy may call, by id.
    pub people: BTreeMap<String, Contact>,
    /// Policies per assignment group, in document order.
    pub groups: Vec<GroupPolicy>,
    /// The policy for groups that have none.
    pub default: Option<GroupPolicy>,
}

/// One person a policy may call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    pub id: String,
    pub name: String,
    pub phone: E164,
    pub role: Option<String>,
    /// The ServiceNow user (sys_user sys_id or user_name) set as `assigned_to` on acceptance.
    pub sn_user: Option<String>,
    pub language: Option<String>,
}

/// The policy of one assignment group (or the default).
#[derive(Clone, Debug)]
pub struct GroupPolicy {
    /// The group's name as ServiceNow shows it ("Database"), or [`DEFAULT_POLICY`].
    pub group: String,
    /// The group's sys_id, when the document gives it (matched as well as the name).
    pub sys_id: Option<String>,
    pub plan: Plan,
    /// Variants by incident priority ("1" to "5").
    pub by_priority: BTreeMap<String, Plan>,
}

/// Steps, rounds and catch-all: what one escalation follows.
#[derive(Clone, Debug)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// Complete walks over the steps before giving up (1 = walk once).
    pub rounds: Option<u32>,
    pub catch_all: Option<CatchAll>,
    /// `"ring": "all"` for every step that does not say otherwise.
    pub ring_all: Option<bool>,
}

#[derive(Clone, Debug)]
pub struct Step {
    pub who: Who,
    /// Press 3 jumps to the next step marked so.
    pub escalation: bool,
    pub ring_timeout_secs: Option<u32>,
    pub redials: Option<u32>,
    /// Text the person when a call is not answered (reply 1 accepts, 2 passes).
    pub sms: bool,
    /// `"ring": "all"` (`Some(true)`): every person of the step is called at once and the
    /// first to accept wins; `Some(false)`: one after the other; `None`: as the plan says.
    pub ring_all: Option<bool>,
}

/// Who a step calls (ids into [`PolicySet::people`]).
#[derive(Clone, Debug)]
pub enum Who {
    Person(String),
    /// Several people, called one after the other.
    People(Vec<String>),
    Rotation(Rotation),
}

/// Members taking turns: member 0 from the hand-off, then the next one every period.
#[derive(Clone, Debug)]
pub struct Rotation {
    pub name: Option<String>,
    pub members: Vec<String>,
    /// When member 0's turn starts, on the wall clock of `time_zone`.
    pub handoff: DateTime,
    pub time_zone: TimeZone,
    pub time_zone_name: String,
    /// Without a period the rotation hands off once, from member 0 to member 1.
    pub period: Option<Period>,
    pub overrides: Vec<Override>,
}

/// How often a rotation hands off, in calendar days on its time zone's wall clock (a
/// daily 09:00 hand-off stays at 09:00 across daylight saving changes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub days: u32,
}

/// Someone covering a rotation from one instant to another (`from` ≤ T < `until`).
#[derive(Clone, Debug)]
pub struct Override {
    pub person: String,
    pub from: Timestamp,
    pub until: Timestamp,
}

/// When nobody accepts after the last round.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CatchAll {
    /// Reassign the incident to this group (sys_id).
    Group(String),
    /// Call this person last.
    Person(String),
}

impl PolicySet {
    /// The policy an incident of this group follows: the group's (by name or sys_id,
    /// names compared without regard to case), else the default.
    pub fn policy_for(&self, name: Option<&str>, sys_id: Option<&str>) -> Option<&GroupPolicy> {
        self.group(name, sys_id).or(self.default.as_ref())
    }

    /// The group's own policy, without falling back to the default.
    pub fn group(&self, name: Option<&str>, sys_id: Option<&str>) -> Option<&GroupPolicy> {
        self.groups.iter().find(|g| {
            name.is_some_and(|n| n.trim().eq_ignore_ascii_case(&g.group))
                || (sys_id.is_some() && g.sys_id.as_deref() == sys_id)
                || sys_id.is_some_and(|s| s.eq_ignore_ascii_case(&g.group))
        })
    }

    /// Everyone the set names, as one list (callers of the inbound line are known by it).
    pub fn everyone(&self) -> crate::model::Roster {
        crate::model::Roster {
            agents: self.people.values().map(Contact::person).collect(),
            escalation: Vec::new(),
            source: None,
        }
    }

    /// All policies, the default last.
    pub fn all(&self) -> impl Iterator<Item = &GroupPolicy> {
        self.groups.iter().chain(self.default.as_ref())
    }
}

impl GroupPolicy {
    /// The plan for an incident of this priority: its variant, else the policy's own.
    pub fn plan_for(&self, priority: &str) -> (&Plan, Option<&str>) {
        match self.by_priority.get_key_value(priority) {
            Some((p, plan)) => (plan, Some(p.as_str())),
            None => (&self.plan, None),
        }
    }
}

/// The time zone database compiled into the binary (Lambda images may have none on disk).
pub fn time_zone(name: &str) -> Option<TimeZone> {
    static DB: std::sync::OnceLock<jiff::tz::TimeZoneDatabase> = std::sync::OnceLock::new();
    DB.get_or_init(jiff::tz::TimeZoneDatabase::bundled)
        .get(name)
        .ok()
}
