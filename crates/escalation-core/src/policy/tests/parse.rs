use super::*;

/// The problems found, as `path: problem` lines.
fn problems(doc: &Value) -> String {
    PolicySet::validate(&doc.to_string(), at("2026-12-01T00:00Z"))
        .unwrap_err()
        .to_string()
}

#[test]
fn an_unknown_time_zone_is_named_with_its_entry_and_field() {
    let err = problems(
        &json!({"people": people(), "groups": {"Database": {"steps": [
        {"person": "ana"},
        rotation(&["ana"], "2026-12-01T09:00", "Europe/Berln", json!("weekly"))]}}}),
    );
    assert!(
        err.contains(
            "groups.Database.steps[1].rotation.time_zone: unknown time zone \"Europe/Berln\""
        ),
        "{err}"
    );
}

#[test]
fn a_past_hand_off_without_a_period_is_refused_a_future_one_accepted() {
    let doc = |h: &str| doc_with(json!([rotation(&["ana", "ben"], h, "UTC", Value::Null)]));
    let err = problems(&doc("2026-11-01T09:00"));
    assert!(
        err.contains("default.steps[0].rotation.handoff: 2026-11-01T09:00:00 is in the past"),
        "{err}"
    );
    assert!(
        PolicySet::validate(
            &doc("2026-12-05T09:00").to_string(),
            at("2026-12-01T00:00Z")
        )
        .is_ok()
    );
    // A stored document stays readable once its hand-off has passed.
    assert!(PolicySet::from_json(&doc("2026-11-01T09:00").to_string()).is_ok());
}

#[test]
fn a_person_without_a_reachable_number_is_named() {
    let mut p = people();
    p["ben"]["phone"] = json!("+1 415 555 0102");
    p["cara"].as_object_mut().unwrap().remove("phone");
    let err = problems(&json!({"people": p, "default": {"steps": [{"person": "ana"}]}}));
    assert!(
        err.contains("people.ben.phone: \"+1 415 555 0102\" is not an E.164 phone number"),
        "{err}"
    );
    assert!(err.contains("people.cara.phone: is missing"), "{err}");
}

#[test]
fn a_group_with_no_steps_is_named() {
    let err = problems(&json!({"people": people(), "groups": {
        "Network": {"steps": []}, "Database": {"rounds": 2}}}));
    assert!(err.contains("groups.Network.steps: no steps"), "{err}");
    assert!(err.contains("groups.Database.steps: no steps"), "{err}");
}

#[test]
fn unknown_people_fields_and_values_are_named() {
    let mut step = rotation(
        &["ana", "zed"],
        "2026-12-01T09:00",
        "UTC",
        json!("fortnightly"),
    );
    step["rotation"]["overrides"] =
        json!([{"person": "ben", "from": "2026-12-02T00:00Z", "until": "2026-12-01T00:00Z"}]);
    let err = problems(&doc_with(json!([
        {"person": "ana", "redails": 1},
        {"person": "ana", "people": ["ben"]},
        {"person": "ben", "ring_timeout_secs": 2},
        step
    ])));
    for expected in [
        "default.steps[0].redails: unknown field",
        "default.steps[1]: a step names exactly one of",
        "default.steps[2].ring_timeout_secs: 2 must be a whole number from 5 to 600",
        "default.steps[3].rotation.members[1]: unknown person \"zed\"",
        "default.steps[3].rotation.period: \"fortnightly\" is not a period",
        "default.steps[3].rotation.overrides[0].until: must be after from",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
}

#[test]
fn an_empty_rotation_without_overrides_and_an_empty_document_are_refused() {
    let err = problems(&doc_with(json!([rotation(
        &[],
        "2026-12-01T09:00",
        "UTC",
        json!("daily")
    )])));
    assert!(
        err.contains("default.steps[0].rotation.members: is empty"),
        "{err}"
    );
    let err = problems(&json!({"people": people()}));
    assert!(
        err.contains("document: has no \"default\" policy and no \"groups\""),
        "{err}"
    );
    let err = problems(
        &json!({"people": people(), "groups": {"default": {"steps": [{"person": "ana"}]}}}),
    );
    assert!(
        err.contains("groups.default: a group needs its ServiceNow name"),
        "{err}"
    );
    let err = PolicySet::from_json("{nope").unwrap_err().to_string();
    assert!(err.starts_with("document: is not valid JSON"), "{err}");
}

#[test]
fn the_original_format_keeps_its_own_errors() {
    let text =
        include_str!("../../../../../assets/agent_list.json").replace("+15550100002", "+1XXX");
    let err = PolicySet::from_json(&text).unwrap_err().to_string();
    assert!(
        err.contains("agent_list[1]") && err.contains("Bob Example"),
        "{err}"
    );
}
