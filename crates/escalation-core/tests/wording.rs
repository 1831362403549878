//! The notes and update keys are what the previous release wrote, word for word: the same
//! walk, replayed on the new engine, yields the updates the previous release queued for it
//! (captured in `fixtures/`).

use escalation_core::escalation::{Escalation, Policy};
use escalation_core::model::{CallOutcome, EscalationId, ExecutionSid, Incident, Roster, SysId};
use escalation_core::update::{IncidentState, IncidentUpdate};
use serde_json::Value;

const ROSTER: &str = r#"{
  "agent_list": [
    {"name": "Alice Agent", "phone_no": "+15550100001", "role": "primary", "index": 0, "sn_user": "alice.agent"},
    {"name": "Bob Agent", "phone_no": "+15550100002", "role": "secondary", "index": 1, "sn_user": "bob.agent", "language": "de-DE"}
  ],
  "escalation_list": [
    {"name": "Carol Manager", "phone_no": "+15550100003", "role": "manager", "index": 0, "sn_user": "carol.manager"}
  ]
}"#;

fn sid(n: u32) -> ExecutionSid {
    ExecutionSid::parse(&format!("FN{n:032}")).unwrap()
}

fn assert_same(update: &IncidentUpdate, fixture: &str) {
    let want: Value = serde_json::from_str(fixture).unwrap();
    assert_eq!(update.key, want["key"]);
    assert_eq!(update.sys_id.as_str(), want["sys_id"]);
    assert_eq!(update.incident_number, want["incident_number"]);
    assert_eq!(update.escalation_id.as_str(), want["escalation_id"]);
    assert_eq!(update.work_note, want["work_note"].as_str().unwrap());
    let state = update.state.map(|IncidentState::InProgress| "2");
    assert_eq!(state, want["state"].as_str());
    assert_eq!(update.assign_to.as_deref(), want["assign_to"].as_str());
    assert_eq!(
        update.assignment_group.as_deref(),
        want["assignment_group"].as_str()
    );
}

#[test]
fn the_walk_writes_the_notes_the_previous_release_wrote() {
    let t0 = 1_795_255_200_000u64;
    let policy = Policy {
        rounds: 2,
        fallback_group: Some("0123456789abcdef0123456789abcdef".into()),
        ..Policy::default()
    };
    let incident = Incident {
        sys_id: SysId::parse("ef43c6d40a0a0b5700c77f9bf387afe3").unwrap(),
        number: "INC0010042".into(),
        short_description: "R&D VPN down".into(),
        priority: "1".into(),
        assignment_group: Some("Database".into()),
        assignment_group_name: None,
    };
    let (mut e, started) = Escalation::start(
        EscalationId::new("ESC-0123456789ab"),
        incident,
        Roster::from_json(ROSTER).unwrap(),
        policy,
        t0,
    );
    assert_same(
        &started,
        include_str!("fixtures/previous_release/started_update.json"),
    );
    e.claim_dial(1, t0 + 10, 30_000).unwrap();
    e.record_execution(1, &sid(1), t0 + 500).unwrap();
    e.on_call_ended(1, Some(&sid(1)), CallOutcome::NoAnswer, t0 + 31_000)
        .unwrap();
    e.claim_dial(2, t0 + 31_010, 30_000).unwrap();
    e.record_execution(2, &sid(2), t0 + 31_500).unwrap();
    e.on_call_ended(2, Some(&sid(2)), CallOutcome::Machine, t0 + 62_000)
        .unwrap();
    e.claim_dial(3, t0 + 62_010, 30_000).unwrap();
    e.on_call_ended(3, None, CallOutcome::OnAnotherCall, t0 + 62_100)
        .unwrap();
    e.claim_dial(4, t0 + 62_200, 30_000).unwrap();
    e.claim_dial(4, t0 + 92_300, 30_000).unwrap();
    e.record_execution(4, &sid(4), t0 + 92_800).unwrap();
    let t = e
        .on_call_ended(4, Some(&sid(4)), CallOutcome::Passed, t0 + 100_000)
        .unwrap();
    assert_same(
        &t.update,
        include_str!("fixtures/previous_release/attempt4_update.json"),
    );
    e.claim_dial(5, t0 + 131_000, 30_000).unwrap();
    e.record_execution(5, &sid(5), t0 + 131_500).unwrap();
    let t = e
        .on_call_ended(5, Some(&sid(5)), CallOutcome::Accepted, t0 + 150_000)
        .unwrap();
    assert_same(
        &t.update,
        include_str!("fixtures/previous_release/accept_update.json"),
    );
}
