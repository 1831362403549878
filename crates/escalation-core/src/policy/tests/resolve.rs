use super::*;
use crate::policy::{DEFAULT_POLICY, NoPolicy};

fn company() -> PolicySet {
    set(&json!({
        "people": people(),
        "default": {"steps": [{"person": "dan"}]},
        "groups": {
            "Database": {"sys_id": "287ebd7da9fe198100f92cc8d1d2154e", "rounds": 2,
                "catch_all": {"group": "d625dccec0a8016700a222a0f7900d06"},
                "steps": [{"person": "ana", "ring_timeout_secs": 20, "redials": 0},
                          {"person": "dan", "escalation": true}],
                "priorities": {"1": {"steps": [{"person": "ben"}, {"person": "ana", "escalation": true}]}}},
            "Network": {"steps": [{"person": "cara"}], "catch_all": {"person": "dan"}}
        }
    }))
}

fn called(set: &PolicySet, name: Option<&str>, sys_id: Option<&str>, prio: &str) -> Vec<String> {
    set.resolve(name, sys_id, prio, at("2026-12-01T03:00Z"))
        .unwrap()
        .people()
        .map(|c| c.person.name.clone())
        .collect()
}

#[test]
fn each_group_has_its_people_found_by_name_or_sys_id_else_the_default() {
    let s = company();
    assert_eq!(
        called(&s, Some("Database"), None, "2"),
        ["Ana Ortiz", "Dan Wu"]
    );
    assert_eq!(
        called(&s, Some("database "), None, "2"),
        ["Ana Ortiz", "Dan Wu"]
    );
    assert_eq!(
        called(&s, None, Some("287ebd7da9fe198100f92cc8d1d2154e"), "2"),
        ["Ana Ortiz", "Dan Wu"]
    );
    assert_eq!(
        called(&s, Some("Network"), None, "1"),
        ["Cara Diaz", "Dan Wu"]
    );
    assert_eq!(called(&s, Some("Hardware"), None, "1"), ["Dan Wu"]);
    let l = s
        .resolve(Some("Hardware"), None, "1", at("2026-12-01T03:00Z"))
        .unwrap();
    assert_eq!(l.source, "default policy");
    assert_eq!(s.default.as_ref().unwrap().group, DEFAULT_POLICY);
}

#[test]
fn a_priority_variant_replaces_the_steps() {
    let s = company();
    assert_eq!(
        called(&s, Some("Database"), None, "1"),
        ["Ben Okafor", "Ana Ortiz"]
    );
    let l = s
        .resolve(Some("Database"), None, "1", at("2026-12-01T03:00Z"))
        .unwrap();
    assert_eq!(l.source, "policy Database (priority 1 variant)");
    assert_eq!(l.rounds, None);
}

#[test]
fn the_roster_carries_each_step_s_timeouts_rounds_and_catch_all() {
    let s = company();
    let l = s
        .resolve(Some("Database"), None, "2", at("2026-12-01T03:00Z"))
        .unwrap();
    assert_eq!(l.rounds, Some(2));
    assert_eq!(
        l.fallback_group.as_deref(),
        Some("d625dccec0a8016700a222a0f7900d06")
    );
    let r = l.roster();
    assert_eq!(r.agents[0].ring_timeout_secs, Some(20));
    assert_eq!(r.agents[0].redials, Some(0));
    assert_eq!(r.agents[0].sn_user.as_deref(), Some("ana.ortiz"));
    assert!(r.escalation[0].escalation_step);
    assert_eq!(r.source.as_deref(), Some("policy Database"));
}

#[test]
fn a_person_in_two_steps_is_called_once() {
    let s = set(&doc_with(json!([
        {"person": "ana"},
        rotation(&["ana", "ben"], "2026-11-30T00:00", "UTC", json!("weekly")),
        {"people": ["ben", "ana", "dan"], "escalation": true}
    ])));
    assert_eq!(
        names_at(&s, "2026-12-01T03:00Z"),
        ["Ana Ortiz", "Ben Okafor", "Dan Wu"]
    );
    let l = s.resolve(None, None, "1", at("2026-12-01T03:00Z")).unwrap();
    assert!(
        l.steps[1].people.is_empty(),
        "Ana is on call but already called"
    );
    let r = l.roster();
    assert_eq!(r.agents.len(), 1);
    assert_eq!(r.escalation.len(), 2);
    assert!(r.escalation[0].escalation_step && !r.escalation[1].escalation_step);
}

#[test]
fn no_policy_for_the_group_and_no_default_is_an_error_naming_the_group() {
    let s =
        set(&json!({"people": people(), "groups": {"Database": {"steps": [{"person": "ana"}]}}}));
    let err = s
        .resolve(Some("Network"), None, "1", at("2026-12-01T03:00Z"))
        .unwrap_err();
    assert_eq!(
        err,
        NoPolicy {
            group: "Network".into()
        }
    );
    assert!(err.to_string().contains("policy import"), "{err}");
}

#[test]
fn the_original_demo_format_is_the_default_policy_one_agent_step_and_one_escalation_step() {
    let text = include_str!("../../../../../assets/agent_list.json");
    let s = PolicySet::from_json(text).unwrap();
    let plan = &s.default.as_ref().unwrap().plan;
    assert_eq!(plan.steps.len(), 2);
    assert!(!plan.steps[0].escalation && plan.steps[1].escalation);
    let r = s
        .resolve(Some("Database"), None, "1", at("2026-12-01T03:00Z"))
        .unwrap()
        .roster();
    let names = |l: &[crate::model::Person]| l.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&r.agents), ["Alice Example", "Bob Example"]);
    assert_eq!(names(&r.escalation), ["Carol Example"]);
    assert_eq!(r.agents[0].sn_user.as_deref(), Some("alice.example"));
    assert_eq!(
        s.sample_people(),
        ["Alice Example", "Bob Example", "Carol Example"]
    );
    assert!(company().sample_people().is_empty());
}
