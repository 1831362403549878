//! A ServiceNow On-Call escalation plan turned into a lineup.
//!
//! ServiceNow computes rotations, overrides and time off; the product takes its answer as
//! it is and only checks that it can be called: every escalatee must be a ServiceNow user
//! (a sys_id, so acceptance sets `assigned_to`) with an E.164 voice number. A plan that
//! fails a check is refused as a whole (the next source is used) rather than called in
//! part. Pure: the adapter reads the JSON, this decides.
//!
//! Escalation levels (`order` 1, 2, …) become steps: level 1 are the agents, each later
//! level an escalation step (press 2 passes to the next person, press 3 jumps to the first
//! person of the next level). A person in two levels is called once.

use crate::model::{E164, Person, Roster, SysId};
use crate::policy::{Called, Lineup, LineupStep};
use std::collections::{BTreeMap, HashSet};

/// How the lineup names this source.
pub const SOURCE: &str = "ServiceNow On-Call";

/// One escalatee as the On-Call API reports it (strings as received).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Escalatee {
    /// The escalation level: 1 primary, 2 secondary, …
    pub order: u32,
    pub user_sys_id: String,
    pub name: String,
    pub voice: String,
    /// Seconds before ServiceNow would move to the next level (reported in the note).
    pub time_to_next_step_secs: Option<u64>,
    pub is_override: bool,
}

/// The plan for one group at one instant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// The group's name as ServiceNow knows it.
    pub group: String,
    /// False: the group has no on-call schedule at all (not an outage: the next source is
    /// asked without counting a fallback).
    pub has_schedule: bool,
    pub escalatees: Vec<Escalatee>,
}

/// Why a plan is not used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanRejected {
    #[error("group {0} has no on-call schedule")]
    NoSchedule(String),
    #[error("nobody is on call for group {0} at this time")]
    Empty(String),
    #[error("escalatee {index} ({name}) is not a ServiceNow user (user sys_id {sys_id:?})")]
    UnknownUser {
        index: usize,
        name: String,
        sys_id: String,
    },
    /// The number itself is not repeated (notes and logs never show numbers in full).
    #[error("escalatee {index} ({name}) has no E.164 voice number{}", if *.blank { String::new() } else { " (the number given is not in +<country><number> form)".to_string() })]
    BadNumber {
        index: usize,
        name: String,
        blank: bool,
    },
    #[error("escalatee {index} ({name}) has escalation level 0 (levels start at 1)")]
    BadOrder { index: usize, name: String },
}

/// The lineup a plan calls, or why it cannot be used.
pub fn lineup(plan: &Plan) -> Result<Lineup, PlanRejected> {
    if !plan.has_schedule {
        return Err(PlanRejected::NoSchedule(plan.group.clone()));
    }
    if plan.escalatees.is_empty() {
        return Err(PlanRejected::Empty(plan.group.clone()));
    }
    let mut levels: BTreeMap<u32, Vec<Called>> = BTreeMap::new();
    let mut next_step: BTreeMap<u32, u64> = BTreeMap::new();
    for (i, e) in plan.escalatees.iter().enumerate() {
        let index = i + 1;
        let name = if e.name.trim().is_empty() {
            "no name".to_string()
        } else {
            e.name.trim().to_string()
        };
        let sys_id = SysId::parse(e.user_sys_id.trim()).map_err(|_| PlanRejected::UnknownUser {
            index,
            name: name.clone(),
            sys_id: e.user_sys_id.clone(),
        })?;
        if e.name.trim().is_empty() {
            return Err(PlanRejected::UnknownUser {
                index,
                name,
                sys_id: e.user_sys_id.clone(),
            });
        }
        let phone = E164::parse(e.voice.trim()).map_err(|_| PlanRejected::BadNumber {
            index,
            name: name.clone(),
            blank: e.voice.trim().is_empty(),
        })?;
        if e.order == 0 {
            return Err(PlanRejected::BadOrder { index, name });
        }
        if let Some(secs) = e.time_to_next_step_secs {
            next_step.entry(e.order).or_insert(secs);
        }
        levels.entry(e.order).or_default().push(Called {
            person: Person {
                name,
                phone,
                role: None,
                sn_user: Some(sys_id.to_string()),
                language: None,
                ring_timeout_secs: None,
                redials: None,
                escalation_step: false,
                sms_when_unanswered: false,
                ring_step: None,
            },
            is_override: e.is_override,
        });
    }
    let mut seen = HashSet::new();
    let mut steps = Vec::new();
    for (n, (level, people)) in levels.into_iter().enumerate() {
        let people: Vec<Called> = people
            .into_iter()
            .filter(|c| seen.insert(c.person.phone.clone()))
            .collect();
        steps.push(LineupStep {
            label: format!("level {level}"),
            escalation: n > 0,
            ring_timeout_secs: None,
            redials: None,
            sms: false,
            ring_all: false,
            people,
        });
    }
    let overrides: Vec<&str> = steps
        .iter()
        .flat_map(|s| s.people.iter())
        .filter(|c| c.is_override)
        .map(|c| c.person.name.as_str())
        .collect();
    let mut source = format!("group {}", plan.group);
    if !overrides.is_empty() {
        source.push_str(&format!(", override: {}", overrides.join(", ")));
    }
    if let Some(secs) = next_step.values().next() {
        source.push_str(&format!(
            ", ServiceNow's next level after {}",
            crate::time::human_duration(secs * 1000)
        ));
    }
    Ok(Lineup {
        source,
        steps,
        rounds: None,
        fallback_group: None,
    })
}

/// The roster a plan calls (see [`lineup`]), its source naming On-Call.
pub fn roster(plan: &Plan) -> Result<Roster, PlanRejected> {
    let lineup = lineup(plan)?;
    let mut roster = lineup.roster();
    roster.source = Some(format!("{SOURCE}: {}", lineup.source));
    Ok(roster)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANA: &str = "a1000000000000000000000000000001";
    const BEN: &str = "b2000000000000000000000000000002";
    const DAN: &str = "d4000000000000000000000000000004";

    fn e(order: u32, sys_id: &str, name: &str, voice: &str) -> Escalatee {
        Escalatee {
            order,
            user_sys_id: sys_id.into(),
            name: name.into(),
            voice: voice.into(),
            time_to_next_step_secs: Some(900),
            is_override: false,
        }
    }

    fn plan(escalatees: Vec<Escalatee>) -> Plan {
        Plan {
            group: "Database".into(),
            has_schedule: true,
            escalatees,
        }
    }

    #[test]
    fn levels_become_agents_then_escalation_steps_each_person_a_servicenow_user() {
        let mut ben = e(1, BEN, "Ben Okafor", "+14155550102");
        ben.is_override = true;
        let r = roster(&plan(vec![
            e(2, DAN, "Dan Wu", "+14155550104"),
            ben,
            e(1, ANA, "Ana Ortiz", "+14155550101"),
        ]))
        .unwrap();
        let names = |ps: &[Person]| ps.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&r.agents), ["Ben Okafor", "Ana Ortiz"]);
        assert_eq!(names(&r.escalation), ["Dan Wu"]);
        assert!(r.escalation[0].escalation_step, "press 3 jumps to level 2");
        assert_eq!(r.agents[0].sn_user.as_deref(), Some(BEN));
        assert_eq!(
            r.source.as_deref(),
            Some(
                "ServiceNow On-Call: group Database, override: Ben Okafor, ServiceNow's next level after 15 min 00 s"
            )
        );
    }

    #[test]
    fn a_person_on_two_levels_is_called_once() {
        let r = roster(&plan(vec![
            e(1, ANA, "Ana Ortiz", "+14155550101"),
            e(2, ANA, "Ana Ortiz", "+14155550101"),
            e(3, DAN, "Dan Wu", "+14155550104"),
        ]))
        .unwrap();
        assert_eq!(r.agents.len(), 1);
        assert_eq!(r.escalation.len(), 1);
        assert_eq!(r.escalation[0].name, "Dan Wu");
        assert!(r.escalation[0].escalation_step);
    }

    #[test]
    fn plans_that_cannot_be_called_are_refused_whole_and_say_why() {
        let no_schedule = Plan {
            has_schedule: false,
            ..plan(vec![])
        };
        assert_eq!(
            lineup(&no_schedule).unwrap_err().to_string(),
            "group Database has no on-call schedule"
        );
        assert_eq!(
            lineup(&plan(vec![])).unwrap_err(),
            PlanRejected::Empty("Database".into())
        );
        let err = lineup(&plan(vec![
            e(1, ANA, "Ana Ortiz", "+14155550101"),
            e(2, "", "Ghost", "+14155550109"),
        ]))
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("escalatee 2 (Ghost) is not a ServiceNow user"),
            "{err}"
        );
        let err = lineup(&plan(vec![e(1, ANA, "Ana Ortiz", "(415) 555-0101")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "escalatee 1 (Ana Ortiz) has no E.164 voice number (the number given is not in +<country><number> form)"
        );
        assert!(
            !err.to_string().contains("555"),
            "the number is not repeated"
        );
        let err = lineup(&plan(vec![e(1, ANA, "Ana Ortiz", "")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "escalatee 1 (Ana Ortiz) has no E.164 voice number"
        );
        let err = lineup(&plan(vec![e(0, ANA, "Ana Ortiz", "+14155550101")])).unwrap_err();
        assert!(matches!(err, PlanRejected::BadOrder { index: 1, .. }));
        let err = lineup(&plan(vec![e(1, ANA, " ", "+14155550101")])).unwrap_err();
        assert!(matches!(err, PlanRejected::UnknownUser { index: 1, .. }));
    }
}
