//! The escalation as stored in the table's `doc` attribute: JSON in the layout every
//! release so far has written. Fields added by later releases have defaults here, so a
//! document written by an earlier release loads and continues; a document written now is
//! byte for byte what the previous release would have written for the same state.

use escalation_core::bundle::BundleTag;
use escalation_core::escalation::{
    Attempt, AttemptRecord, Cancel, Cursor, Escalation, Phase, Policy, Slot, Snapshot, Status,
};
use escalation_core::model::{EscalationId, ExecutionSid, Incident, ListKind, Person, Roster};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

#[derive(Serialize, Deserialize)]
struct EscalationDoc {
    id: EscalationId,
    incident: Incident,
    roster: Roster,
    policy: PolicyDoc,
    status: Status,
    cursor: Cursor,
    current: Option<AttemptDoc>,
    /// The other attempts in flight of a ring-all step (absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    ring: Vec<AttemptDoc>,
    history: Vec<AttemptRecord>,
    accepted_by: Option<String>,
    created_at: u64,
    updated_at: u64,
    #[serde(default)]
    busy: Vec<Slot>,
    #[serde(default)]
    busy_pass: Option<VecDeque<Slot>>,
    #[serde(default)]
    busy_retries: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cancelled: Option<Cancel>,
}

#[derive(Serialize, Deserialize)]
struct PolicyDoc {
    max_redials: u32,
    rounds: u32,
    ring_timeout_secs: u32,
    #[serde(default)]
    fallback_group: Option<String>,
    #[serde(default = "default_busy_retry_secs")]
    busy_retry_secs: u32,
    #[serde(default = "default_max_busy_retries")]
    max_busy_retries: u32,
}

fn default_busy_retry_secs() -> u32 {
    Policy::default().busy_retry_secs
}

fn default_max_busy_retries() -> u32 {
    Policy::default().max_busy_retries
}

#[derive(Serialize, Deserialize)]
struct AttemptDoc {
    number: u32,
    list: ListKind,
    position: usize,
    round: u32,
    person: Person,
    phase: Phase,
    execution_sid: Option<ExecutionSid>,
    started_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    not_before: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dial_lease_until: Option<u64>,
    #[serde(default, skip_serializing_if = "is_zero")]
    dial_claims: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    ring: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bundle: Option<BundleTag>,
}

impl AttemptDoc {
    fn of(a: Attempt) -> AttemptDoc {
        AttemptDoc {
            number: a.number,
            list: a.list,
            position: a.position,
            round: a.round,
            person: a.person,
            phase: a.phase,
            execution_sid: a.execution_sid,
            started_at: a.started_at,
            not_before: a.not_before,
            dial_lease_until: a.dial_lease_until,
            dial_claims: a.dial_claims,
            ring: a.ring,
            bundle: a.bundle,
        }
    }

    fn attempt(self) -> Attempt {
        Attempt {
            number: self.number,
            list: self.list,
            position: self.position,
            round: self.round,
            person: self.person,
            phase: self.phase,
            execution_sid: self.execution_sid,
            started_at: self.started_at,
            not_before: self.not_before,
            dial_lease_until: self.dial_lease_until,
            dial_claims: self.dial_claims,
            ring: self.ring,
            bundle: self.bundle,
        }
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The document for an escalation.
pub fn to_json(esc: &Escalation) -> Result<String, serde_json::Error> {
    let s = esc.snapshot().clone();
    let doc = EscalationDoc {
        id: s.id,
        incident: s.incident,
        roster: s.roster,
        policy: PolicyDoc {
            max_redials: s.policy.max_redials,
            rounds: s.policy.rounds,
            ring_timeout_secs: s.policy.ring_timeout_secs,
            fallback_group: s.policy.fallback_group,
            busy_retry_secs: s.policy.busy_retry_secs,
            max_busy_retries: s.policy.max_busy_retries,
        },
        status: s.status,
        cursor: s.cursor,
        current: s.current.map(AttemptDoc::of),
        ring: s.ring.into_iter().map(AttemptDoc::of).collect(),
        history: s.history,
        accepted_by: s.accepted_by,
        created_at: s.created_at,
        updated_at: s.updated_at,
        busy: s.busy,
        busy_pass: s.busy_pass,
        busy_retries: s.busy_retries,
        cancelled: s.cancelled,
    };
    serde_json::to_string(&doc)
}

/// The escalation in a document (of this release or an earlier one).
pub fn from_json(text: &str) -> Result<Escalation, serde_json::Error> {
    let d: EscalationDoc = serde_json::from_str(text)?;
    Ok(Escalation::restore(Snapshot {
        id: d.id,
        incident: d.incident,
        roster: d.roster,
        policy: Policy {
            max_redials: d.policy.max_redials,
            rounds: d.policy.rounds,
            ring_timeout_secs: d.policy.ring_timeout_secs,
            fallback_group: d.policy.fallback_group,
            busy_retry_secs: d.policy.busy_retry_secs,
            max_busy_retries: d.policy.max_busy_retries,
        },
        status: d.status,
        cursor: d.cursor,
        current: d.current.map(AttemptDoc::attempt),
        ring: d.ring.into_iter().map(AttemptDoc::attempt).collect(),
        history: d.history,
        accepted_by: d.accepted_by,
        created_at: d.created_at,
        updated_at: d.updated_at,
        busy: d.busy,
        busy_pass: d.busy_pass,
        busy_retries: d.busy_retries,
        cancelled: d.cancelled,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Documents written by the previous release (captured from its code).
    const CALLING: &str =
        include_str!("../../../escalation-core/tests/fixtures/previous_release/calling.json");
    const BUSY_WAIT: &str =
        include_str!("../../../escalation-core/tests/fixtures/previous_release/busy_wait.json");
    const ACCEPTED: &str =
        include_str!("../../../escalation-core/tests/fixtures/previous_release/accepted.json");
    const OLDEST: &str =
        include_str!("../../../escalation-core/tests/fixtures/previous_release/oldest.json");

    #[test]
    fn documents_of_the_previous_release_load_and_are_written_back_unchanged() {
        for doc in [CALLING, BUSY_WAIT, ACCEPTED] {
            let esc = from_json(doc).unwrap();
            assert_eq!(to_json(&esc).unwrap(), doc.trim_end());
        }
    }

    #[test]
    fn a_document_from_before_the_busy_wait_and_the_lease_loads_with_defaults() {
        let esc = from_json(OLDEST).unwrap();
        let a = esc.current().unwrap();
        assert_eq!(
            (a.not_before, a.dial_lease_until, a.dial_claims),
            (None, None, 0)
        );
        assert_eq!(esc.policy().busy_retry_secs, 30);
        assert_eq!(esc.policy().max_busy_retries, 3);
        assert_eq!(esc.snapshot().busy_retries, 0);
        assert_eq!(esc.history().len(), 3);
        assert_eq!(esc.in_flight().count(), 1);
    }

    #[test]
    fn a_ring_all_step_in_flight_is_written_and_read_back_with_every_attempt() {
        use escalation_core::model::{E164, SysId};
        let person = |name: &str, n: u32| Person {
            name: name.into(),
            phone: E164::parse(&format!("+1555010{n:04}")).unwrap(),
            role: None,
            sn_user: None,
            language: None,
            ring_timeout_secs: None,
            redials: None,
            escalation_step: false,
            sms_when_unanswered: false,
            ring_step: Some(0),
        };
        let roster = Roster {
            agents: vec![person("Alice", 1), person("Bob", 2), person("Carol", 3)],
            escalation: Vec::new(),
            source: None,
        };
        let incident = Incident {
            sys_id: SysId::parse("ef43c6d40a0a0b5700c77f9bf387afe3").unwrap(),
            number: "INC0010001".into(),
            short_description: "Database down".into(),
            priority: "1".into(),
            assignment_group: None,
            assignment_group_name: None,
        };
        let (mut esc, _) = Escalation::start(
            EscalationId::new("esc-ring"),
            incident,
            roster,
            Policy::default(),
            1_000,
        );
        let sid = ExecutionSid::parse(&format!("FN{:032x}", 7)).unwrap();
        esc.claim_dial(2, 1_100, 30_000).unwrap();
        esc.record_execution(2, &sid, 1_200).unwrap();
        let text = to_json(&esc).unwrap();
        let back = from_json(&text).unwrap();
        assert_eq!(back, esc);
        let numbers: Vec<(u32, u32)> = back.in_flight().map(|a| (a.number, a.ring)).collect();
        assert_eq!(numbers, vec![(1, 3), (2, 3), (3, 3)]);
        assert_eq!(back.attempt(2).unwrap().execution_sid.as_ref(), Some(&sid));
        assert_eq!(to_json(&back).unwrap(), text);
    }

    #[test]
    fn an_attempt_in_a_bundle_or_in_a_bundle_call_loads_back_equal() {
        let waiting = serde_json::json!({"id": "esc-1/1", "opener": true});
        let placed = serde_json::json!({"id": "esc-1/1", "incidents": ["INC1", "INC2"]});
        for (tag, shared) in [(waiting, false), (placed, true)] {
            let mut doc: serde_json::Value = serde_json::from_str(CALLING).unwrap();
            doc["current"]["bundle"] = tag;
            let esc = from_json(&doc.to_string()).unwrap();
            let bundle = esc.current().unwrap().bundle.clone().unwrap();
            assert_eq!(bundle.is_shared(), shared);
            assert_eq!(from_json(&to_json(&esc).unwrap()).unwrap(), esc);
        }
    }
}
