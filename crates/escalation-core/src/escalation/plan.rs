//! The worst-case walk (nobody answers anywhere), for the dry run.

use super::Policy;
use crate::model::{ListKind, Person, Roster};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlannedCall {
    pub round: u32,
    pub list: ListKind,
    pub person: Person,
    pub redial: u32,
}

/// One entry per planned call, redials included.
pub fn plan(roster: &Roster, policy: &Policy) -> Vec<PlannedCall> {
    let mut calls = Vec::new();
    for round in 0..policy.rounds.max(1) {
        for (list, people) in [
            (ListKind::Agents, &roster.agents),
            (ListKind::Escalation, &roster.escalation),
        ] {
            for person in people.iter() {
                for redial in 0..=person.redials.unwrap_or(policy.max_redials) {
                    calls.push(PlannedCall {
                        round,
                        list,
                        person: person.clone(),
                        redial,
                    });
                }
            }
        }
    }
    calls
}
