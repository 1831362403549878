//! The ServiceNow side (infra/servicenow/): the business rule queues its event, and the
//! script action (escalation_trigger.js), run under node with stand-ins for the Glide APIs
//! (tests/support/business_rule_harness.js), signs its request exactly as the incident-trigger
//! Lambda checks it: base64 HMAC-SHA256 with the base64-decoded key over
//! `timestamp + "." + body`, timestamp in unix seconds. The body is one the trigger parses.
//!
//! Needs `node` on PATH (it is on developer machines and in CI); without it the tests fail
//! and say so.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use escalation_adapters::signing::{SignatureError, SigningKey};
use escalation_lambda::handlers::trigger::parse_body;
use serde_json::{Value, json};

const SYS_ID: &str = "9d385017c611228701d22104cc95c371";
const GROUP: &str = "287ebd7da9fe198100f92cc8d1d2154e";
const SCRIPT_ACTION: &str = "infra/servicenow/escalation_trigger.js";
const BUSINESS_RULE: &str = "infra/servicenow/start_phone_escalation_br.js";

#[path = "support/servicenow_scripts.rs"]
mod servicenow_scripts;
use servicenow_scripts::{TRIGGER_URL, key_b64, now_ms, run};

/// The incident raised to P1 in the Database group; `with` overrides config keys.
fn config(short_description: &str, now_ms: u64, with: Value) -> Value {
    let mut cfg = json!({
        "properties": properties(),
        "incident": {
            "sys_id": SYS_ID,
            "number": "INC0010042",
            "short_description": short_description,
            "priority": "1",
            "assignment_group": GROUP,
        },
        "display": {"assignment_group": "Database"},
        "event": {"parm1": "1", "parm2": "3"},
        "now_ms": now_ms,
        "response": {"status": 202, "body": "{\"escalation_id\":\"ESC-0123456789ab\"}"},
    });
    if let (Some(c), Value::Object(w)) = (cfg.as_object_mut(), with) {
        c.extend(w);
    }
    cfg
}

fn properties() -> Value {
    json!({"x_escalation.trigger_url": TRIGGER_URL, "x_escalation.hmac_key_b64": key_b64()})
}

fn requests(report: &Value) -> &Vec<Value> {
    report["requests"].as_array().expect("requests")
}

/// Checks the one request of `report` with the trigger's own verifier and parser; returns
/// the parsed body.
fn verified(report: &Value, now: u64) -> Value {
    assert_eq!(requests(report).len(), 1, "{report}");
    let req = &requests(report)[0];
    let body = req["body"].as_str().expect("body");
    let timestamp = req["headers"]["X-Signature-Timestamp"]
        .as_str()
        .expect("timestamp");
    let signature = req["headers"]["X-Signature"].as_str().expect("signature");
    // Unix SECONDS, taken from GlideDateTime's milliseconds.
    let now_secs = (now / 1000) as i64;
    assert_eq!(timestamp, now_secs.to_string());
    let key = SigningKey::from_base64(&key_b64()).expect("key");
    assert_eq!(
        key.verify(
            Some(timestamp),
            Some(signature),
            body.as_bytes(),
            now_secs + 5
        ),
        Ok(now_secs),
        "the trigger refuses the script's signature over {body}"
    );
    assert_eq!(key.sign(timestamp, body.as_bytes()), signature);
    parse_body("application/json", body.as_bytes()).expect("the trigger parses the body");
    serde_json::from_str(body).expect("JSON body")
}

#[test]
fn the_script_actions_signature_is_the_one_the_trigger_accepts() {
    let now = now_ms();
    let report = run(
        SCRIPT_ACTION,
        &config(
            "Datenbank \"orders\" ausgefallen – Zürich 🚨",
            now,
            json!({}),
        ),
    );
    let body = verified(&report, now);
    let req = &requests(&report)[0];
    assert_eq!(req["endpoint"], TRIGGER_URL);
    assert_eq!(req["rest_message"], "Phone escalation trigger");
    assert_eq!(req["rest_method"], "Send");
    assert_eq!(req["headers"]["Content-Type"], "application/json");
    assert_eq!(
        req["method"]
            .as_str()
            .map(str::to_ascii_uppercase)
            .as_deref(),
        Some("POST")
    );
    // The group travels with its name, so notes and metrics can say "Database".
    assert_eq!(body["assignment_group"], GROUP);
    assert_eq!(body["assignment_group_name"], "Database");
    assert_eq!(body["priority"], "1");
    let incident =
        parse_body("application/json", req["body"].as_str().unwrap().as_bytes()).expect("parses");
    assert_eq!(incident.sys_id, SYS_ID);
    assert_eq!(incident.number, "INC0010042");
    assert_eq!(incident.assignment_group.as_deref(), Some(GROUP));

    // Every send carries its own event_id, so two sends in the same second never share a
    // signature (the trigger would refuse the second as a replay).
    let again = run(SCRIPT_ACTION, &config("x", now, json!({})));
    let again_body = verified(&again, now);
    assert_eq!(body["event_id"].as_str().map(str::len), Some(32), "{body}");
    assert_ne!(body["event_id"], again_body["event_id"]);
    assert_ne!(
        requests(&again)[0]["headers"]["X-Signature"],
        req["headers"]["X-Signature"]
    );

    // And the check bites: another body or key does not pass.
    let (sent, ts, sig) = (
        req["body"].as_str().unwrap(),
        req["headers"]["X-Signature-Timestamp"].as_str(),
        req["headers"]["X-Signature"].as_str(),
    );
    let key = SigningKey::from_base64(&key_b64()).unwrap();
    let tampered = sent.replace("INC0010042", "INC0010043");
    let now_secs = (now / 1000) as i64;
    assert_eq!(
        key.verify(ts, sig, tampered.as_bytes(), now_secs),
        Err(SignatureError::Mismatch)
    );
    let other_key = SigningKey::from_base64(&STANDARD.encode([7u8; 32])).unwrap();
    assert_eq!(
        other_key.verify(ts, sig, sent.as_bytes(), now_secs),
        Err(SignatureError::Mismatch)
    );
    // Success is logged, no work note.
    assert!(
        report["work_notes"].as_array().is_some_and(Vec::is_empty),
        "{report}"
    );
    assert!(
        report["logs"].to_string().contains("ESC-0123456789ab"),
        "{report}"
    );
}

#[test]
fn a_short_description_in_e_acute_dash_and_han_signs_what_goes_on_the_wire() {
    let now = now_ms();
    let text = "é–漢";
    let report = run(SCRIPT_ACTION, &config(text, now, json!({})));
    let body = verified(&report, now);
    assert_eq!(body["short_description"], text);
    // The bytes on the wire are UTF-8 as is (no \u escapes), and the MAC covers those bytes.
    let wire = requests(&report)[0]["body"].as_str().unwrap();
    assert!(wire.contains(text), "{wire}");
    assert!(
        wire.as_bytes().windows(2).any(|w| w == [0xc3, 0xa9]),
        "é as UTF-8"
    );
    let incident = parse_body("application/json", wire.as_bytes()).unwrap();
    assert_eq!(incident.short_description, text);
}

#[test]
fn only_the_priorities_of_the_property_escalate() {
    let now = now_ms();
    let p3 = json!({"event": {"parm1": "3", "parm2": "4"}});
    let report = run(SCRIPT_ACTION, &config("x", now, p3.clone()));
    assert!(requests(&report).is_empty(), "{report}");
    assert!(
        report["logs"]
            .to_string()
            .contains("priority 3 is not in x_escalation.priorities"),
        "{report}"
    );
    let mut props = properties();
    props["x_escalation.priorities"] = json!("1, 2,3");
    let mut cfg = config("x", now, p3);
    cfg["properties"] = props.clone();
    assert_eq!(verified(&run(SCRIPT_ACTION, &cfg), now)["priority"], "3");
    // And a priority the property no longer lists stops escalating.
    props["x_escalation.priorities"] = json!("2");
    let mut cfg = config("x", now, json!({}));
    cfg["properties"] = props;
    assert!(requests(&run(SCRIPT_ACTION, &cfg)).is_empty());
}

#[test]
fn groups_are_included_and_excluded_by_name_or_sys_id() {
    let now = now_ms();
    let with = |name: &str, value: &str| {
        let mut cfg = config("x", now, json!({}));
        cfg["properties"][name] = json!(value);
        requests(&run(SCRIPT_ACTION, &cfg)).len()
    };
    assert_eq!(with("x_escalation.groups_include", "Network, database"), 1);
    assert_eq!(with("x_escalation.groups_include", GROUP), 1);
    assert_eq!(with("x_escalation.groups_include", "Network"), 0);
    assert_eq!(with("x_escalation.groups_exclude", "Database"), 0);
    assert_eq!(with("x_escalation.groups_exclude", "Network"), 1);
    // No group at all: only an include list stops it.
    let mut cfg = config("x", now, json!({}));
    cfg["incident"]["assignment_group"] = json!("");
    cfg["display"] = json!({});
    let body = verified(&run(SCRIPT_ACTION, &cfg), now);
    assert_eq!(body["assignment_group"], Value::Null);
    assert_eq!(body["assignment_group_name"], Value::Null);
    cfg["properties"]["x_escalation.groups_include"] = json!("Database");
    assert!(requests(&run(SCRIPT_ACTION, &cfg)).is_empty());
}

#[test]
fn without_its_properties_nothing_is_sent_and_the_incident_says_why() {
    let mut cfg = config("x", now_ms(), json!({}));
    cfg["properties"] = json!({"x_escalation.trigger_url": TRIGGER_URL});
    let report = run(SCRIPT_ACTION, &cfg);
    assert!(requests(&report).is_empty(), "{report}");
    let logs = report["logs"].to_string();
    assert!(
        logs.contains("x_escalation.hmac_key_b64") && logs.contains("empty"),
        "{logs}"
    );
    let notes = report["work_notes"].as_array().expect("work_notes");
    assert_eq!(notes.len(), 1, "{report}");
    assert!(
        notes[0]["text"]
            .as_str()
            .unwrap()
            .contains("x_escalation.hmac_key_b64")
    );
}

#[test]
fn a_refused_request_leaves_an_ordinary_work_note() {
    let cfg = config(
        "x",
        now_ms(),
        json!({"response": {"status": 401, "body": "{\"error\":\"signature does not match\"}"}}),
    );
    let report = run(SCRIPT_ACTION, &cfg);
    let notes = report["work_notes"].as_array().expect("work_notes");
    assert_eq!(notes.len(), 1, "{report}");
    assert_eq!(notes[0]["table"], "incident");
    assert_eq!(notes[0]["sys_id"], SYS_ID);
    // An ordinary update: audit and business rules stay on (setWorkflow(false) would also
    // switch off the audit and can drop the note).
    assert_eq!(notes[0]["workflow"], Value::Null, "{report}");
    let text = notes[0]["text"].as_str().expect("text");
    assert!(
        text.contains("HTTP 401") && text.contains("signature does not match"),
        "{text}"
    );
}

#[test]
fn the_business_rule_queues_the_event_with_the_new_and_old_priority() {
    let cfg = |previous: Value| {
        json!({
            "properties": {},
            "incident": {"sys_id": SYS_ID, "number": "INC0010042", "priority": "1"},
            "previous": previous,
            "now_ms": 0,
        })
    };
    let raised = run(
        BUSINESS_RULE,
        &cfg(json!({"sys_id": SYS_ID, "priority": "3"})),
    );
    assert_eq!(
        raised["events"],
        json!([{"name": "x_escalation.escalate", "sys_id": SYS_ID, "parm1": "1", "parm2": "3"}])
    );
    assert!(requests(&raised).is_empty(), "the rule itself calls nobody");
    let inserted = run(BUSINESS_RULE, &cfg(Value::Null));
    assert_eq!(inserted["events"][0]["parm2"], "");
}

/// A send the trigger could not take (503) is tried again later with the same event id and
/// a fresh signature; the trigger accepts the retry.
#[test]
fn a_failed_trigger_is_sent_again_later_with_the_same_event_id() {
    let now = now_ms();
    let first = run(
        SCRIPT_ACTION,
        &config(
            "Orders database down",
            now,
            json!({"response": {"status": 503, "body": "{\"error\":\"send the request again\"}"}}),
        ),
    );
    let sent = verified(&first, now);
    assert!(
        first["work_notes"].as_array().unwrap().is_empty(),
        "not given up yet: {first}"
    );
    let events = first["events"].as_array().expect("events");
    assert_eq!(events.len(), 1, "the retry is scheduled: {first}");
    let retry = &events[0];
    assert_eq!(retry["name"], "x_escalation.escalate");
    assert_eq!(retry["sys_id"], SYS_ID);
    assert_eq!(retry["parm1"], "1");
    assert_eq!(retry["at_ms"], now + 30_000, "after 30 s");
    let parm2 = retry["parm2"].as_str().unwrap();
    assert_eq!(
        parm2,
        format!("retry:2:{}", sent["event_id"].as_str().unwrap())
    );

    // The scheduled event runs 30 s later; the trigger is back and answers 202.
    let later = now + 30_000;
    let second = run(
        SCRIPT_ACTION,
        &config(
            "Orders database down",
            later,
            json!({"event": {"parm1": "1", "parm2": parm2}}),
        ),
    );
    let resent = verified(&second, later);
    assert_eq!(resent["event_id"], sent["event_id"], "the same send");
    assert_ne!(
        requests(&second)[0]["headers"]["X-Signature"],
        requests(&first)[0]["headers"]["X-Signature"],
        "signed anew, so never a replay"
    );
    assert!(second["events"].as_array().unwrap().is_empty(), "{second}");
    assert!(second["work_notes"].as_array().unwrap().is_empty());
}

#[test]
fn retries_back_off_honour_retry_after_and_end_with_a_work_note() {
    let now = now_ms();
    // 429 with Retry-After 90 on the second try: the third comes after 90 s, not 60.
    let throttled = run(
        SCRIPT_ACTION,
        &config(
            "x",
            now,
            json!({"event": {"parm1": "1", "parm2": "retry:2:abc123"},
                   "response": {"status": 429, "body": "{}", "headers": {"Retry-After": "90"}}}),
        ),
    );
    assert_eq!(throttled["events"][0]["at_ms"], now + 90_000, "{throttled}");
    assert_eq!(throttled["events"][0]["parm2"], "retry:3:abc123");
    // No answer at all (a timeout) on the fifth try: given up, and the incident says so.
    let last = run(
        SCRIPT_ACTION,
        &config(
            "x",
            now,
            json!({"event": {"parm1": "1", "parm2": "retry:5:abc123"},
                   "response": {"throw": "Request timed out"}}),
        ),
    );
    assert!(last["events"].as_array().unwrap().is_empty(), "{last}");
    let text = last["work_notes"][0]["text"].as_str().expect("a work note");
    assert!(
        text.contains("could not be started") && text.contains("after 5 tries"),
        "{text}"
    );
    // A refusal that will not pass (401) is not retried.
    let refused = run(
        SCRIPT_ACTION,
        &config("x", now, json!({"response": {"status": 401, "body": "{}"}})),
    );
    assert!(refused["events"].as_array().unwrap().is_empty());
    assert_eq!(refused["work_notes"].as_array().unwrap().len(), 1);
}

/// The scheduled heartbeat goes through the same signing and REST message as the trigger
/// request; the trigger takes it for a heartbeat (counted, nothing started).
#[test]
fn the_heartbeat_job_signs_a_heartbeat_the_trigger_accepts() {
    let now = now_ms();
    let report = run(
        "infra/servicenow/heartbeat.js",
        &json!({"properties": properties(), "incident": {}, "now_ms": now,
                "response": {"status": 200, "body": "{\"heartbeat\":\"ok\"}"}}),
    );
    assert_eq!(requests(&report).len(), 1, "{report}");
    let req = &requests(&report)[0];
    assert_eq!(req["endpoint"], TRIGGER_URL);
    assert_eq!(req["rest_message"], "Phone escalation trigger");
    let body = req["body"].as_str().unwrap();
    let ts = req["headers"]["X-Signature-Timestamp"].as_str().unwrap();
    let key = SigningKey::from_base64(&key_b64()).unwrap();
    let now_secs = (now / 1000) as i64;
    assert_eq!(
        key.verify(
            Some(ts),
            req["headers"]["X-Signature"].as_str(),
            body.as_bytes(),
            now_secs
        ),
        Ok(now_secs)
    );
    assert!(
        escalation_lambda::handlers::trigger::is_heartbeat(body.as_bytes()),
        "{body}"
    );
    assert!(
        report["logs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l[0] != "error"),
        "{report}"
    );
    // Without its properties it sends nothing and says so in the log.
    let unset = run(
        "infra/servicenow/heartbeat.js",
        &json!({"properties": {}, "incident": {}, "now_ms": now}),
    );
    assert!(requests(&unset).is_empty());
    assert!(
        unset["logs"]
            .to_string()
            .contains("x_escalation.trigger_url is empty"),
        "{unset}"
    );
}
