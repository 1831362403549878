use super::*;

#[test]
fn a_daily_hand_off_skipped_by_spring_forward_happens_at_the_same_offset_later() {
    // New York springs forward on 2026-03-08 at 02:00: 02:30 does not exist that day, the
    // hand-off is at 03:30 EDT (07:30Z). Day 7 → member 7 % 2 = 1 (Ben).
    let s = set(&doc_with(json!([rotation(
        &["ana", "ben"],
        "2026-03-01T02:30",
        "America/New_York",
        json!("daily")
    )])));
    assert_eq!(names_at(&s, "2026-03-08T07:00Z"), ["Ana Ortiz"]);
    assert_eq!(names_at(&s, "2026-03-08T07:29Z"), ["Ana Ortiz"]);
    assert_eq!(names_at(&s, "2026-03-08T07:30Z"), ["Ben Okafor"]);
    // The next day, back at 02:30 EDT (06:30Z).
    assert_eq!(names_at(&s, "2026-03-09T06:29Z"), ["Ben Okafor"]);
    assert_eq!(names_at(&s, "2026-03-09T06:30Z"), ["Ana Ortiz"]);
}

#[test]
fn a_weekly_hand_off_stays_at_nine_on_the_wall_clock_across_fall_back() {
    // Berlin falls back on 2026-10-25: the Monday 09:00 hand-off is 07:00Z before, 08:00Z after.
    let s = set(&doc_with(json!([rotation(
        &["ana", "ben"],
        "2026-10-19T09:00",
        "Europe/Berlin",
        json!("weekly")
    )])));
    assert_eq!(names_at(&s, "2026-10-19T06:59Z"), ["Ben Okafor"]);
    assert_eq!(names_at(&s, "2026-10-19T07:00Z"), ["Ana Ortiz"]);
    assert_eq!(names_at(&s, "2026-10-26T07:30Z"), ["Ana Ortiz"]);
    assert_eq!(names_at(&s, "2026-10-26T08:00Z"), ["Ben Okafor"]);
    let r = match &s.default.as_ref().unwrap().plan.steps[0].who {
        crate::policy::Who::Rotation(r) => r.clone(),
        _ => unreachable!(),
    };
    let on = r.on_call(at("2026-10-20T12:00Z"));
    assert_eq!(on.person.as_deref(), Some("ana"));
    assert_eq!(on.until, Some(at("2026-10-26T08:00Z")));
}

#[test]
fn every_n_days_and_three_members_take_turns_in_order() {
    let s = set(&doc_with(json!([rotation(
        &["ana", "ben", "cara"],
        "2026-12-01T08:00",
        "UTC",
        json!({"every_days": 3})
    )])));
    assert_eq!(names_at(&s, "2026-12-03T23:00Z"), ["Ana Ortiz"]);
    assert_eq!(names_at(&s, "2026-12-04T08:00Z"), ["Ben Okafor"]);
    assert_eq!(names_at(&s, "2026-12-07T08:00Z"), ["Cara Diaz"]);
    assert_eq!(names_at(&s, "2026-12-10T08:00Z"), ["Ana Ortiz"]);
}

#[test]
fn an_override_that_starts_and_ends_mid_shift_covers_only_its_interval() {
    let mut step = rotation(
        &["ana", "ben"],
        "2026-11-30T09:00",
        "Europe/Berlin",
        json!("weekly"),
    );
    // Tuesday 14:00 to Wednesday 10:00 Berlin time (wall clock), inside Ana's week; and one
    // from Sunday 20:00Z that runs past Monday's hand-off into Ben's week.
    step["rotation"]["overrides"] = json!([
        {"person": "cara", "from": "2026-12-01T14:00", "until": "2026-12-02T10:00"},
        {"person": "dan", "from": "2026-12-06T20:00Z", "until": "2026-12-07T12:00Z"}
    ]);
    let s = set(&doc_with(json!([step])));
    assert_eq!(names_at(&s, "2026-12-01T12:59Z"), ["Ana Ortiz"]);
    assert_eq!(names_at(&s, "2026-12-01T13:00Z"), ["Cara Diaz"]);
    assert_eq!(names_at(&s, "2026-12-02T08:59Z"), ["Cara Diaz"]);
    assert_eq!(names_at(&s, "2026-12-02T09:00Z"), ["Ana Ortiz"]);
    assert_eq!(names_at(&s, "2026-12-07T09:00Z"), ["Dan Wu"]);
    assert_eq!(names_at(&s, "2026-12-07T12:00Z"), ["Ben Okafor"]);
    let lineup = s.resolve(None, None, "1", at("2026-12-01T13:00Z")).unwrap();
    assert!(lineup.people().next().unwrap().is_override);
}

#[test]
fn without_a_period_the_rotation_hands_off_once() {
    let s = set(&doc_with(json!([rotation(
        &["ana", "ben"],
        "2026-12-05T09:00",
        "UTC",
        Value::Null
    )])));
    assert_eq!(names_at(&s, "2026-12-05T08:59Z"), ["Ana Ortiz"]);
    assert_eq!(names_at(&s, "2026-12-05T09:00Z"), ["Ben Okafor"]);
    assert_eq!(names_at(&s, "2027-06-01T00:00Z"), ["Ben Okafor"]);
}

#[test]
fn an_empty_rotation_calls_nobody_outside_its_overrides_and_the_next_step_goes_on() {
    let mut step = rotation(&[], "2026-12-01T09:00", "UTC", json!("weekly"));
    step["rotation"]["overrides"] =
        json!([{"person": "cara", "from": "2026-12-01T00:00Z", "until": "2026-12-02T00:00Z"}]);
    let s = set(&doc_with(
        json!([step.clone(), {"person": "dan", "escalation": true}]),
    ));
    assert_eq!(names_at(&s, "2026-12-01T12:00Z"), ["Cara Diaz", "Dan Wu"]);
    assert_eq!(names_at(&s, "2026-12-03T12:00Z"), ["Dan Wu"]);
    let lineup = s.resolve(None, None, "1", at("2026-12-03T12:00Z")).unwrap();
    assert!(lineup.steps[0].people.is_empty());
    // Dan starts an escalation step but nobody comes before him: he is the first agent.
    assert_eq!(lineup.roster().agents[0].name, "Dan Wu");
    let only = set(&doc_with(json!([step])));
    assert!(
        only.resolve(None, None, "1", at("2026-12-03T12:00Z"))
            .unwrap()
            .is_empty()
    );
}
