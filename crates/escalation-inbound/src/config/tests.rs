use super::*;

fn roster() -> Roster {
    Roster::from_json(
        r#"{"agent_list":[{"name":"Alice","phone_no":"+15550100001"},{"name":"Bob","phone_no":"+15550100002"}],
            "escalation_list":[{"name":"Carol","phone_no":"+15550100003"}]}"#,
    )
    .unwrap()
}

fn base() -> serde_json::Value {
    serde_json::json!({
        "numbers": [{
            "number": "+15550109999",
            "name": "IT escalation line",
            "groups": [
                {"digit": "1", "name": "Database", "people": ["Bob", "Carol"], "assignment_group": "0123456789abcdef0123456789abcdef"},
                {"digit": 2, "name": "Network", "incident": {"impact": 2, "urgency": "3", "fields": {"category": "network"}}}
            ]
        }]
    })
}

fn err(v: serde_json::Value) -> String {
    InboundConfig::from_json(&v.to_string(), &roster())
        .unwrap_err()
        .to_string()
}

#[test]
fn defaults_and_resolution() {
    let c = InboundConfig::from_json(&base().to_string(), &roster()).unwrap();
    let line = c.line("+15550109999").unwrap();
    assert_eq!(line.callers.withheld, Admission::Refuse);
    assert!(line.callers.roster && line.callers.servicenow_users);
    assert_eq!(line.live.ring_timeout_secs, 20);
    assert_eq!(line.live.max_people, 3);
    assert!(line.sms_enabled);
    assert_eq!(line.sms_group, 1);
    let db = line.group(1).unwrap();
    let Team::Named(named) = &db.people else {
        panic!("Database names its people: {:?}", db.people)
    };
    assert_eq!(
        named.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["Bob", "Carol"]
    );
    assert_eq!(
        (db.incident.impact.as_str(), db.incident.urgency.as_str()),
        ("1", "1")
    );
    let net = line.group(2).unwrap();
    assert_eq!(
        net.people,
        Team::OnCall,
        "no people = whoever is on call for the team when the caller asks"
    );
    assert_eq!(
        (net.incident.impact.as_str(), net.incident.urgency.as_str()),
        ("2", "3")
    );
    assert_eq!(net.incident.fields["category"], "network");
    assert_eq!(c.transcription_wait, Duration::from_secs(8));
    assert!(c.line("+15550100001").is_none());
}

#[test]
fn bundled_config_loads_with_the_bundled_roster() {
    let c = InboundConfig::bundled(
        &Roster::from_json(include_str!("../../../../assets/agent_list.json")).unwrap(),
    )
    .unwrap();
    assert!(!c.numbers.is_empty());
}

#[test]
fn errors_name_the_entry() {
    let mut v = base();
    v["numbers"][0]["groups"][1]["digit"] = serde_json::json!("0");
    let e = err(v);
    assert!(
        e.contains("numbers[0] (+1******9999).groups[1] (\"Network\").digit"),
        "{e}"
    );

    let mut v = base();
    v["numbers"][0]["groups"][1]["digit"] = serde_json::json!(1);
    assert!(err(v).contains("1 is already used by \"Database\""));

    let mut v = base();
    v["numbers"][0]["groups"][0]["people"] = serde_json::json!(["Bob", "Mallory"]);
    let e = err(v);
    assert!(
        e.contains("groups[0] (\"Database\").people")
            && e.contains("\"Mallory\" is not in the roster"),
        "{e}"
    );

    let mut v = base();
    v["numbers"][0]["number"] = serde_json::json!("+1XXXXXXXXXX");
    let e = err(v);
    assert!(e.contains("numbers[0].number"), "{e}");

    let mut v = base();
    v["numbers"][0]["callers"] = serde_json::json!({"withheld": "pin"});
    assert!(err(v).contains("callers.pin_sha256: is required"));

    let mut v = base();
    v["numbers"][0]["callers"] = serde_json::json!({"withheld": "pin", "pin_sha256": "1234"});
    assert!(err(v).contains("must be 64 hex characters"));

    let mut v = base();
    v["numbers"][0]["callers"] = serde_json::json!({"withheld": "maybe"});
    assert!(err(v).contains("maybe"));

    let mut v = base();
    v["numbers"][0]["incident"] = serde_json::json!({"impact": 4});
    assert!(err(v).contains("numbers[0] (+1******9999).incident.impact"));

    let mut v = base();
    v["numbers"][0]["groups"][0]["incident"] = serde_json::json!({"fields": {"caller_id": "x"}});
    assert!(err(v).contains("fields.caller_id: is set by the inbound line itself"));

    let mut v = base();
    v["numbers"][0]["groups"][0]["assignment_group"] = serde_json::json!("Database team");
    assert!(err(v).contains("assignment_group: \"Database team\" is not a sys_user_group sys_id"));

    let mut v = base();
    v["numbers"][0]["live"] = serde_json::json!({"ring_timeout_secs": 2});
    assert!(err(v).contains("live.ring_timeout_secs"));

    let mut v = base();
    v["numbers"][0]["sms"] = serde_json::json!({"group": 7});
    assert!(err(v).contains("sms.group"));

    let mut v = base();
    v["numbers"][0]["groups"] = serde_json::json!([]);
    assert!(err(v).contains("groups: has 0 entries"));

    let mut v = base();
    let line = v["numbers"][0].clone();
    v["numbers"] = serde_json::json!([line.clone(), line]);
    assert!(err(v).contains("numbers[1] (+1******9999): this number is configured twice"));

    let mut v = base();
    v["numbers"][0]["greeting"] = serde_json::json!("hi");
    assert!(err(v).contains("unknown field `greeting`"));

    let mut v = base();
    v["numbers"][0]["callers"] = serde_json::json!({"roster": false, "servicenow_users": false});
    assert!(err(v).contains("admits nobody"));

    let mut v = base();
    v["transcription_wait_secs"] = serde_json::json!(30);
    assert!(err(v).contains("transcription_wait_secs"));
}
