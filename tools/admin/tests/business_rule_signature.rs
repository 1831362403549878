//! The ServiceNow business rule (infra/servicenow/escalation_trigger_br.js), run under node
//! with stand-ins for the Glide APIs (tests/support/business_rule_harness.js), signs its
//! request exactly as the incident-trigger Lambda checks it (escalation_adapters::signing):
//! base64 HMAC-SHA256 with the base64-decoded key over `timestamp + "." + body`, timestamp
//! in unix seconds. The body is one the trigger parses.
//!
//! Needs `node` on PATH (it is on developer machines and in CI); without it the tests fail
//! and say so.

use std::path::PathBuf;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use escalation_adapters::signing::{SignatureError, SigningKey};
use escalation_lambda::handlers::trigger::parse_body;
use serde_json::{Value, json};

const TRIGGER_URL: &str = "https://abc123.lambda-url.eu-west-1.on.aws/";
const SYS_ID: &str = "9d385017c611228701d22104cc95c371";

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn key_b64() -> String {
    // 32 key bytes, stored base64 in both places (SN property and trigger_hmac_key).
    STANDARD.encode(
        (0u8..32)
            .map(|i| i.wrapping_mul(37).wrapping_add(11))
            .collect::<Vec<u8>>(),
    )
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Runs the business rule once; returns the harness's report.
fn run_rule(config: &Value) -> Value {
    let output = Command::new("node")
        .arg(repo("tools/admin/tests/support/business_rule_harness.js"))
        .arg(repo("infra/servicenow/escalation_trigger_br.js"))
        .arg(config.to_string())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "could not run `node` ({e}). This test runs the ServiceNow business rule \
                 infra/servicenow/escalation_trigger_br.js under Node.js: install Node.js \
                 (e.g. `apt-get install nodejs`) and make sure `node` is on PATH"
            )
        });
    assert!(
        output.status.success(),
        "the business rule failed under node:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the harness prints JSON")
}

fn config(properties: Value, now_ms: u64, response: Value) -> Value {
    json!({
        "properties": properties,
        "incident": {
            "sys_id": SYS_ID,
            "number": "INC0010042",
            // Quotes, a dash, an umlaut and an emoji: the MAC must cover the same UTF-8 bytes
            // that go on the wire.
            "short_description": "Datenbank \"orders\" ausgefallen – Zürich 🚨",
            "priority": "1",
            "assignment_group": "",
        },
        "now_ms": now_ms,
        "response": response,
    })
}

fn properties() -> Value {
    json!({"x_escalation.trigger_url": TRIGGER_URL, "x_escalation.hmac_key_b64": key_b64()})
}

#[test]
fn the_rules_signature_is_the_one_the_trigger_accepts() {
    let now = now_ms();
    let report = run_rule(&config(
        properties(),
        now,
        json!({"status": 202, "body": "{\"escalation_id\":\"ESC-0123456789ab\"}"}),
    ));
    let requests = report["requests"].as_array().expect("requests");
    assert_eq!(requests.len(), 1, "{report}");
    let req = &requests[0];
    assert_eq!(req["endpoint"], TRIGGER_URL);
    assert_eq!(
        req["method"]
            .as_str()
            .map(str::to_ascii_uppercase)
            .as_deref(),
        Some("POST")
    );
    assert_eq!(req["headers"]["Content-Type"], "application/json");
    let body = req["body"].as_str().expect("body");
    let timestamp = req["headers"]["X-Signature-Timestamp"]
        .as_str()
        .expect("timestamp");
    let signature = req["headers"]["X-Signature"].as_str().expect("signature");

    // Unix SECONDS, taken from GlideDateTime's milliseconds.
    let now_secs = (now / 1000) as i64;
    assert_eq!(timestamp, now_secs.to_string());

    // What the Lambda does with the same base64 key string.
    let key = SigningKey::from_base64(&key_b64()).expect("key");
    assert_eq!(
        key.verify(
            Some(timestamp),
            Some(signature),
            body.as_bytes(),
            now_secs + 5
        ),
        Ok(now_secs)
    );
    assert_eq!(key.sign(timestamp, body.as_bytes()), signature);
    // Every send carries its own event_id, so two sends in the same second never share a
    // signature (the trigger would refuse the second as a replay).
    let again = run_rule(&config(
        properties(),
        now,
        json!({"status": 200, "body": "{}"}),
    ));
    let again = &again["requests"][0];
    assert_eq!(again["headers"]["X-Signature-Timestamp"], timestamp);
    assert_ne!(again["headers"]["X-Signature"].as_str(), Some(signature));
    let id = |b: &str| serde_json::from_str::<Value>(b).unwrap()["event_id"].clone();
    assert_eq!(id(body).as_str().map(str::len), Some(32), "{body}");
    assert_ne!(id(body), id(again["body"].as_str().unwrap()));
    // And the check bites: another body, timestamp or key does not pass.
    let tampered = body.replace("INC0010042", "INC0010043");
    assert_eq!(
        key.verify(
            Some(timestamp),
            Some(signature),
            tampered.as_bytes(),
            now_secs
        ),
        Err(SignatureError::Mismatch)
    );
    let other_key = SigningKey::from_base64(&STANDARD.encode([7u8; 32])).expect("key");
    assert_eq!(
        other_key.verify(Some(timestamp), Some(signature), body.as_bytes(), now_secs),
        Err(SignatureError::Mismatch)
    );

    // The body is the trigger contract.
    let incident =
        parse_body("application/json", body.as_bytes()).expect("the trigger parses the body");
    assert_eq!(incident.sys_id, SYS_ID);
    assert_eq!(incident.number, "INC0010042");
    assert_eq!(incident.priority, "1");
    assert_eq!(
        incident.short_description,
        "Datenbank \"orders\" ausgefallen – Zürich 🚨"
    );
    assert_eq!(incident.assignment_group, None);

    // Success is logged, no work note.
    assert!(
        report["work_notes"].as_array().is_some_and(Vec::is_empty),
        "{report}"
    );
    assert!(
        report["logs"].to_string().contains("ESC-0123456789ab"),
        "{}",
        report["logs"]
    );
}

#[test]
fn without_its_properties_the_rule_sends_nothing_and_says_why() {
    let report = run_rule(&config(
        json!({"x_escalation.trigger_url": TRIGGER_URL}),
        now_ms(),
        json!({"status": 202, "body": "{}"}),
    ));
    assert!(
        report["requests"].as_array().is_some_and(Vec::is_empty),
        "{report}"
    );
    let logs = report["logs"].to_string();
    assert!(
        logs.contains("x_escalation.hmac_key_b64") && logs.contains("empty"),
        "{logs}"
    );
}

#[test]
fn a_refused_request_leaves_a_work_note_without_re_triggering() {
    let report = run_rule(&config(
        properties(),
        now_ms(),
        json!({"status": 401, "body": "{\"error\":\"signature does not match\"}"}),
    ));
    let notes = report["work_notes"].as_array().expect("work_notes");
    assert_eq!(notes.len(), 1, "{report}");
    assert_eq!(notes[0]["table"], "incident");
    assert_eq!(notes[0]["sys_id"], SYS_ID);
    assert_eq!(
        notes[0]["workflow"], false,
        "the note must not run business rules"
    );
    let text = notes[0]["text"].as_str().expect("text");
    assert!(
        text.contains("HTTP 401") && text.contains("signature does not match"),
        "{text}"
    );
}
