//! A walk made from a policy's steps: digit 3 jumps to the next escalation step, each
//! step's redials and ring timeout apply to its people.

use super::*;
use crate::policy::PolicySet;

pub(super) fn from_policy(steps: serde_json::Value) -> Escalation {
    let doc = serde_json::json!({
        "people": {
            "a": {"name": "A", "phone": "+14155550101"}, "b": {"name": "B", "phone": "+14155550102"},
            "m1": {"name": "M1", "phone": "+14155550103"}, "m2": {"name": "M2", "phone": "+14155550104"},
            "d": {"name": "D", "phone": "+14155550105"}},
        "default": {"steps": steps}});
    let set = PolicySet::from_json(&doc.to_string()).unwrap();
    let roster = set
        .resolve(None, None, "1", "2026-12-01T00:00Z".parse().unwrap())
        .unwrap()
        .roster();
    Escalation::start(
        EscalationId::new("esc-1"),
        incident(),
        roster,
        Policy::default(),
        1_000,
    )
    .0
}

#[test]
fn digit_3_jumps_to_the_first_person_of_the_next_escalation_step() {
    let mut e = from_policy(serde_json::json!([
        {"people": ["a", "b"]},
        {"people": ["m1", "m2"], "escalation": true},
        {"person": "d", "escalation": true}]));
    end(&mut e, CallOutcome::Escalated);
    assert_eq!(calling(&e), "M1");
    end(&mut e, CallOutcome::Escalated);
    assert_eq!(calling(&e), "D", "M2 is in the same step as M1");
    assert_eq!(
        end(&mut e, CallOutcome::Escalated).next,
        Next::Done(Status::Exhausted)
    );
}

#[test]
fn digit_2_still_walks_everyone_in_order() {
    let mut e = from_policy(serde_json::json!([
        {"person": "a"},
        {"people": ["m1", "m2"], "escalation": true},
        {"person": "d", "escalation": true}]));
    let mut called = vec![calling(&e).to_string()];
    while end(&mut e, CallOutcome::Passed).next == Next::Dial {
        called.push(calling(&e).to_string());
    }
    assert_eq!(called, ["A", "M1", "M2", "D"]);
}

#[test]
fn each_step_s_redials_and_ring_timeout_apply_to_its_people() {
    let mut e = from_policy(serde_json::json!([
        {"person": "a", "redials": 0, "ring_timeout_secs": 15},
        {"person": "d", "escalation": true, "redials": 2}]));
    let first = e.current().unwrap().clone();
    assert_eq!(e.call_request(&first).ring_timeout_secs, 15);
    end(&mut e, CallOutcome::NoAnswer);
    assert_eq!(calling(&e), "D", "no redial for A");
    let current = e.current().unwrap().clone();
    assert_eq!(
        e.call_request(&current).ring_timeout_secs,
        30,
        "the deployment's"
    );
    end(&mut e, CallOutcome::NoAnswer);
    end(&mut e, CallOutcome::NoAnswer);
    assert_eq!(calling(&e), "D", "two redials for D");
    assert_eq!(
        end(&mut e, CallOutcome::NoAnswer).next,
        Next::Done(Status::Exhausted)
    );
}
