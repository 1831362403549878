//! The rules of the walk, one test per rule, named as the sentence it proves: the keys and
//! events (keys.rs), redials, busy people and exhaustion (redials.rs), the sweeper and the
//! dial lease (leases.rs), walks made from policy steps (steps.rs), ring-all steps (ring.rs).

use super::*;
use crate::model::{
    CallOutcome, E164, EscalationId, ExecutionSid, Incident, ListKind, Person, SysId,
};
use crate::update::IncidentState;

fn sid(n: u32) -> ExecutionSid {
    ExecutionSid::parse(&format!("FN{n:032x}")).unwrap()
}

fn person(name: &str, n: u32) -> Person {
    Person {
        name: name.into(),
        phone: E164::parse(&format!("+1555010{n:04}")).unwrap(),
        role: None,
        sn_user: Some(format!("{}.user", name.to_lowercase())),
        language: None,
        ring_timeout_secs: None,
        redials: None,
        escalation_step: false,
        sms_when_unanswered: false,
        ring_step: None,
    }
}

fn roster(agents: &[&str], esc: &[&str]) -> Roster {
    let mut n = 0;
    let mut mk = |names: &[&str]| {
        names
            .iter()
            .map(|name| {
                n += 1;
                person(name, n)
            })
            .collect()
    };
    Roster {
        agents: mk(agents),
        escalation: mk(esc),
        source: None,
    }
}

fn incident() -> Incident {
    Incident {
        sys_id: SysId::parse("ef43c6d40a0a0b5700c77f9bf387afe3").unwrap(),
        number: "INC0010001".into(),
        short_description: "Database down".into(),
        priority: "1".into(),
        assignment_group: None,
        assignment_group_name: None,
    }
}

fn start_with(agents: &[&str], esc: &[&str], policy: Policy) -> Escalation {
    Escalation::start(
        EscalationId::new("esc-1"),
        incident(),
        roster(agents, esc),
        policy,
        1_000,
    )
    .0
}

fn no_redial() -> Policy {
    Policy {
        max_redials: 0,
        ..Policy::default()
    }
}

/// Who is being called now.
fn calling(e: &Escalation) -> &str {
    &e.current().expect("a call in progress").person.name
}

/// End the current call with `outcome` (matching attempt + SID) and return the transition.
fn end(e: &mut Escalation, outcome: CallOutcome) -> Transition {
    let n = e.current().unwrap().number;
    let sid = sid(n);
    e.record_execution(n, &sid, 2_000).unwrap();
    e.on_call_ended(n, Some(&sid), outcome, 5_000 + u64::from(n) * 1000)
        .unwrap()
}

mod keys;
mod leases;
mod redials;
mod ring;
mod steps;
