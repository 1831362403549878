//! The ServiceNow side of a cancel (infra/servicenow/): the business rule "Cancel phone
//! escalation" queues x_escalation.cancel when someone other than the integration user
//! resolves, closes, cancels, assigns or lowers an incident of an escalating priority, and
//! its script action (cancel_trigger.js) sends a cancel signed exactly as the trigger
//! checks it, with a body the trigger parses. Run under node with the Glide stand-ins.

use escalation_adapters::signing::SigningKey;
use escalation_core::escalation::CancelReason;
use escalation_lambda::handlers::trigger::{is_cancel, parse_cancel};
use serde_json::{Value, json};

#[path = "support/servicenow_scripts.rs"]
mod servicenow_scripts;
use servicenow_scripts::{TRIGGER_URL, key_b64, now_ms, run};

const RULE: &str = "infra/servicenow/cancel_phone_escalation_br.js";
const ACTION: &str = "infra/servicenow/cancel_trigger.js";
const SYS_ID: &str = "9d385017c611228701d22104cc95c371";
const BOB: &str = "62826bf03710200044e0bfc8bcbe5df1";

fn incident(priority: &str, state: &str, assigned_to: &str) -> Value {
    json!({"sys_id": SYS_ID, "number": "INC0010042", "priority": priority,
           "state": state, "assigned_to": assigned_to})
}

/// The rule run for a change from `before` to `after` saved by `user`; the events it queued.
fn rule(before: Value, after: Value, user: &str) -> Vec<Value> {
    let cfg = json!({
        "properties": {"x_escalation.priorities": "1,2"},
        "incident": after, "previous": before,
        "display": {"assigned_to": "Bob Agent"},
        "user": user, "user_display": "Beth Anglin", "now_ms": now_ms(),
    });
    run(RULE, &cfg)["events"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn the_rule_queues_a_cancel_for_each_way_an_incident_is_handled_elsewhere() {
    let p1 = incident("1", "2", "");
    let cases = [
        (incident("1", "6", ""), "resolved", Value::Null),
        (incident("1", "7", ""), "closed", Value::Null),
        (incident("1", "8", ""), "canceled", Value::Null),
        (incident("1", "2", BOB), "assigned", json!("Bob Agent")),
        (incident("4", "2", ""), "priority_lowered", json!("4")),
    ];
    for (after, reason, detail) in cases {
        let events = rule(p1.clone(), after.clone(), "beth.anglin");
        assert_eq!(events.len(), 1, "{after}: {events:?}");
        assert_eq!(events[0]["name"], "x_escalation.cancel");
        assert_eq!(events[0]["sys_id"], SYS_ID);
        assert_eq!(events[0]["parm1"], reason, "{after}");
        let extra: Value = serde_json::from_str(events[0]["parm2"].as_str().unwrap()).unwrap();
        assert_eq!(
            extra,
            json!({"detail": detail, "by": "Beth Anglin"}),
            "{after}"
        );
    }
}

#[test]
fn the_integration_users_own_writes_and_other_edits_queue_nothing() {
    let p1 = incident("1", "2", "");
    // Our acceptance assigns and sets In Progress: never a cancel.
    assert!(
        rule(
            incident("1", "1", ""),
            incident("1", "2", BOB),
            "svc_escalation"
        )
        .is_empty()
    );
    // Nothing that handles the incident: on hold, a priority between escalating ones.
    assert!(rule(p1.clone(), incident("1", "3", ""), "beth.anglin").is_empty());
    assert!(rule(p1.clone(), incident("2", "2", ""), "beth.anglin").is_empty());
    // An incident that never escalated.
    assert!(
        rule(
            incident("4", "2", ""),
            incident("4", "6", ""),
            "beth.anglin"
        )
        .is_empty()
    );
}

#[test]
fn the_script_action_sends_a_signed_cancel_the_trigger_accepts() {
    let now = now_ms();
    let cfg = json!({
        "properties": {"x_escalation.trigger_url": TRIGGER_URL, "x_escalation.hmac_key_b64": key_b64()},
        "incident": incident("1", "2", BOB),
        "event": {"parm1": "assigned", "parm2": "{\"detail\":\"Bob Agent\",\"by\":\"Beth Anglin\"}"},
        "now_ms": now,
        "response": {"status": 200, "body": "{\"status\":\"CANCELLED\"}"},
    });
    let report = run(ACTION, &cfg);
    let requests = report["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 1, "{report}");
    let req = &requests[0];
    assert_eq!(req["endpoint"], TRIGGER_URL);
    let body = req["body"].as_str().unwrap();
    let ts = req["headers"]["X-Signature-Timestamp"].as_str().unwrap();
    let sig = req["headers"]["X-Signature"].as_str().unwrap();
    let key = SigningKey::from_base64(&key_b64()).unwrap();
    let now_secs = (now / 1000) as i64;
    assert_eq!(
        key.verify(Some(ts), Some(sig), body.as_bytes(), now_secs),
        Ok(now_secs)
    );
    assert!(is_cancel(body.as_bytes()));
    let (sys_id, cancel) = parse_cancel(body.as_bytes(), now).expect("the trigger parses it");
    assert_eq!(sys_id.as_str(), SYS_ID);
    assert_eq!(cancel.reason, CancelReason::Assigned);
    assert_eq!(cancel.detail.as_deref(), Some("Bob Agent"));
    assert_eq!(cancel.by.as_deref(), Some("Beth Anglin"));
    assert!(report["work_notes"].as_array().unwrap().is_empty());
}

#[test]
fn a_refused_cancel_leaves_a_work_note_saying_calls_may_go_on() {
    let cfg = json!({
        "properties": {"x_escalation.trigger_url": TRIGGER_URL, "x_escalation.hmac_key_b64": key_b64()},
        "incident": incident("1", "6", ""),
        "event": {"parm1": "resolved", "parm2": "{}"},
        "now_ms": now_ms(),
        "response": {"status": 503, "body": "{\"error\":\"unavailable\"}"},
    });
    let report = run(ACTION, &cfg);
    let notes = report["work_notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{report}");
    let text = notes[0]["text"].as_str().unwrap();
    assert!(text.contains("could not be stopped: HTTP 503"), "{text}");
}
