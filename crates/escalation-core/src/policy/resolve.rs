//! The lineup: who is called for an incident, in order, resolved at one instant; and the
//! roster the walk follows, made from it.

use super::{CatchAll, Contact, DEFAULT_POLICY, PolicySet, Who};
use crate::model::{Person, Roster};
use jiff::Timestamp;
use std::collections::HashSet;

/// One person in a lineup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Called {
    pub person: Person,
    /// Covering a rotation by an override.
    pub is_override: bool,
}

/// One step of a lineup, with the people it calls at the instant it was resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineupStep {
    /// "Alice Example", "rotation DB primary", "people".
    pub label: String,
    pub escalation: bool,
    pub ring_timeout_secs: Option<u32>,
    pub redials: Option<u32>,
    /// Text a person whose call is not answered.
    pub sms: bool,
    /// Every person of the step is called at once; the first to accept wins.
    pub ring_all: bool,
    /// Empty when a rotation has nobody on call, or everyone was called in an earlier step.
    pub people: Vec<Called>,
}

/// Who is called for one incident, in order, and where that came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lineup {
    /// Which policy it came from ("policy Database (priority 1 variant)", "default policy").
    pub source: String,
    pub steps: Vec<LineupStep>,
    pub rounds: Option<u32>,
    /// Reassign to this group (sys_id) when nobody accepts.
    pub fallback_group: Option<String>,
}

/// No policy applies to the incident's group.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "no escalation policy for group {group} and no default policy; import one with `escalation-admin policy import`"
)]
pub struct NoPolicy {
    pub group: String,
}

impl Contact {
    pub fn person(&self) -> Person {
        Person {
            name: self.name.clone(),
            phone: self.phone.clone(),
            role: self.role.clone(),
            sn_user: self.sn_user.clone(),
            language: self.language.clone(),
            ring_timeout_secs: None,
            redials: None,
            escalation_step: false,
            sms_when_unanswered: false,
            ring_step: None,
        }
    }
}

impl PolicySet {
    /// Who is on call for an incident of this group and priority at `at`.
    pub fn resolve(
        &self,
        group_name: Option<&str>,
        group_sys_id: Option<&str>,
        priority: &str,
        at: Timestamp,
    ) -> Result<Lineup, NoPolicy> {
        let policy = self
            .policy_for(group_name, group_sys_id)
            .ok_or_else(|| NoPolicy {
                group: group_name.or(group_sys_id).unwrap_or("-").to_string(),
            })?;
        let (plan, variant) = policy.plan_for(priority);
        let mut source = if policy.group == DEFAULT_POLICY {
            "default policy".to_string()
        } else {
            format!("policy {}", policy.group)
        };
        if let Some(p) = variant {
            source.push_str(&format!(" (priority {p} variant)"));
        }
        let mut seen = HashSet::new();
        let mut steps = Vec::new();
        let contact = |id: &str| self.people.get(id).map(Contact::person);
        for step in &plan.steps {
            let (label, candidates): (String, Vec<(String, bool)>) = match &step.who {
                Who::Person(id) => (label_of(self, id), vec![(id.clone(), false)]),
                Who::People(ids) => (
                    "people".into(),
                    ids.iter().map(|i| (i.clone(), false)).collect(),
                ),
                Who::Rotation(r) => {
                    let on = r.on_call(at);
                    (
                        format!("rotation {}", r.name.as_deref().unwrap_or("(unnamed)")),
                        on.person.map(|p| (p, on.is_override)).into_iter().collect(),
                    )
                }
            };
            let people = candidates
                .into_iter()
                .filter_map(|(id, is_override)| {
                    let person = contact(&id)?;
                    seen.insert(person.phone.clone()).then_some(Called {
                        person,
                        is_override,
                    })
                })
                .collect();
            steps.push(LineupStep {
                label,
                escalation: step.escalation,
                ring_timeout_secs: step.ring_timeout_secs,
                redials: step.redials,
                sms: step.sms,
                ring_all: step.ring_all.or(plan.ring_all).unwrap_or(false),
                people,
            });
        }
        let mut fallback_group = None;
        match &plan.catch_all {
            Some(CatchAll::Group(g)) => fallback_group = Some(g.clone()),
            Some(CatchAll::Person(id)) => {
                if let Some(person) = contact(id).filter(|p| seen.insert(p.phone.clone())) {
                    steps.push(LineupStep {
                        label: "catch-all".into(),
                        escalation: false,
                        ring_timeout_secs: None,
                        redials: None,
                        sms: false,
                        ring_all: false,
                        people: vec![Called {
                            person,
                            is_override: false,
                        }],
                    });
                }
            }
            None => {}
        }
        Ok(Lineup {
            source,
            steps,
            rounds: plan.rounds,
            fallback_group,
        })
    }
}

fn label_of(set: &PolicySet, id: &str) -> String {
    set.people
        .get(id)
        .map(|c| c.name.clone())
        .unwrap_or_else(|| id.to_string())
}

impl Lineup {
    /// Everyone called, in order.
    pub fn people(&self) -> impl Iterator<Item = &Called> {
        self.steps.iter().flat_map(|s| s.people.iter())
    }

    pub fn is_empty(&self) -> bool {
        self.people().next().is_none()
    }

    /// The roster the walk follows: the people of the steps before the first escalation
    /// step are the agents (digit 2 moves through them), the rest the escalation list; the
    /// first person of each escalation step is marked, so digit 3 jumps to the next such
    /// person. When the first step is itself an escalation step, its people are the agents.
    /// Each person carries the step's ring timeout and redials, and the people of a step
    /// that rings all at once its index.
    pub fn roster(&self) -> Roster {
        let mut agents = Vec::new();
        let mut escalation = Vec::new();
        let mut in_escalation = false;
        for (index, step) in self.steps.iter().enumerate() {
            if step.people.is_empty() {
                continue;
            }
            if step.escalation && !agents.is_empty() {
                in_escalation = true;
            }
            let list = if in_escalation {
                &mut escalation
            } else {
                &mut agents
            };
            for (i, called) in step.people.iter().enumerate() {
                let mut p = called.person.clone();
                p.ring_timeout_secs = step.ring_timeout_secs;
                p.redials = step.redials;
                p.sms_when_unanswered = step.sms;
                p.escalation_step = in_escalation && step.escalation && i == 0;
                p.ring_step = (step.ring_all && step.people.len() > 1).then_some(index as u32);
                list.push(p);
            }
        }
        Roster {
            agents,
            escalation,
            source: Some(self.source.clone()),
        }
    }
}
