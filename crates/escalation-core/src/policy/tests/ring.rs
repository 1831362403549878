//! `"ring": "all"` on a step, on a plan, and as a priority variant of its own.

use super::*;

fn ring_steps(set: &PolicySet, prio: &str) -> Vec<(String, Option<u32>)> {
    set.resolve(Some("Database"), None, prio, at("2026-12-01T03:00Z"))
        .unwrap()
        .roster()
        .people()
        .map(|p| (p.name.clone(), p.ring_step))
        .collect()
}

#[test]
fn a_step_marked_ring_all_rings_its_people_together_and_other_steps_in_turn() {
    let s = set(
        &json!({"people": people(), "groups": {"Database": {"steps": [
        {"people": ["ana", "ben", "cara"], "ring": "all"},
        {"person": "dan", "escalation": true}]}}}),
    );
    assert_eq!(
        ring_steps(&s, "2"),
        [
            ("Ana Ortiz".into(), Some(0)),
            ("Ben Okafor".into(), Some(0)),
            ("Cara Diaz".into(), Some(0)),
            ("Dan Wu".into(), None)
        ]
    );
}

#[test]
fn a_priority_variant_with_only_ring_all_keeps_the_policy_s_steps() {
    let s = set(
        &json!({"people": people(), "groups": {"Database": {"rounds": 2, "steps": [
        {"people": ["ana", "ben"]},
        {"people": ["cara", "dan"], "escalation": true, "ring": "in_turn"}],
        "priorities": {"1": {"ring": "all"}}}}}),
    );
    let p1 = ring_steps(&s, "1");
    assert_eq!(
        p1,
        [
            ("Ana Ortiz".into(), Some(0)),
            ("Ben Okafor".into(), Some(0)),
            ("Cara Diaz".into(), None),
            ("Dan Wu".into(), None)
        ],
        "the step that says in_turn stays in turn"
    );
    assert!(ring_steps(&s, "2").iter().all(|(_, r)| r.is_none()));
    let lineup = s
        .resolve(Some("Database"), None, "1", at("2026-12-01T03:00Z"))
        .unwrap();
    assert_eq!(lineup.rounds, Some(2));
}

#[test]
fn a_wrong_ring_value_is_named_with_its_field() {
    let err = PolicySet::validate(
        &doc_with(json!([{"people": ["ana", "ben"], "ring": "sometimes"}])).to_string(),
        at("2026-12-01T00:00Z"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("default.steps[0].ring: must be \"all\" (call every person of the step at once, the first to accept wins) or \"in_turn\" (one after the other), not \"sometimes\""),
        "{err}"
    );
}
