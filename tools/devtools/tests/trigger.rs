//! incident-trigger through its real entry point (function-URL events): authentication,
//! limits, validation, the demo's form body. A refused request never reaches Twilio.

mod support;

use escalation_devtools::kit::{self, TRIGGER_URL};
use escalation_devtools::stack::{Stack, StackOptions};
use serde_json::json;
use support::fault;

const SYS: &str = "0123456789abcdef0123456789abcdef";

fn body() -> String {
    json!({"sys_id": SYS, "number": "INC0020001", "short_description": "Outage", "priority": "1"})
        .to_string()
}

fn now() -> i64 {
    kit::now_secs()
}

/// The business rule's request for `body`, signed with `key` at `ts`.
fn signed_at(
    key: &escalation_adapters::signing::SigningKey,
    body: &str,
    ts: i64,
) -> serde_json::Value {
    kit::signed_trigger_at(key, TRIGGER_URL, body, "application/json", ts).event()
}

/// A request signed with `ts` and an explicit signature.
fn with_sig(stack: &Stack, body: &str, ts: i64, sig: String) -> serde_json::Value {
    stack.url_event(
        "POST",
        body,
        &[
            ("content-type", "application/json".into()),
            ("x-signature-timestamp", ts.to_string()),
            ("x-signature", sig),
        ],
    )
}

async fn nothing_happened(stack: &Stack) {
    assert!(stack.twilio.requests().is_empty(), "Twilio was called");
    assert!(
        stack.escalation(SYS).await.is_none(),
        "an escalation was written"
    );
}

#[tokio::test]
async fn bad_signatures_are_refused_with_401() {
    let stack = Stack::start(StackOptions::default()).await;
    let b = body();
    let cases = |ts: i64| {
        let good = stack.key.sign(&ts.to_string(), b.as_bytes());
        let other_key = escalation_adapters::signing::SigningKey::from_base64(
            "b3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXkh",
        )
        .unwrap();
        vec![
            (
                "wrong key",
                signed_at(&other_key, &b, ts),
                "signature does not match",
            ),
            (
                "tampered body",
                with_sig(&stack, &b.replace("Outage", "Outage!"), ts, good.clone()),
                "signature does not match",
            ),
            (
                "old timestamp",
                signed_at(&stack.key, &b, ts - 301),
                "outside the allowed window",
            ),
            (
                "future timestamp",
                signed_at(&stack.key, &b, ts + 301),
                "outside the allowed window",
            ),
            (
                "not base64",
                with_sig(&stack, &b, ts, "%%%".into()),
                "not valid base64",
            ),
            (
                "no headers",
                stack.url_event("POST", &b, &[("content-type", "application/json".into())]),
                "missing X-Signature-Timestamp",
            ),
            (
                "no signature",
                stack.url_event(
                    "POST",
                    &b,
                    &[
                        ("content-type", "application/json".into()),
                        ("x-signature-timestamp", ts.to_string()),
                    ],
                ),
                "missing X-Signature header",
            ),
        ]
    };
    for i in 0..cases(now()).len() {
        // Each case is signed just before it is sent: a second boundary passing between the
        // two cannot move a timestamp across the window's edge.
        let (name, event, expect) = cases(now()).swap_remove(i);
        let (status, resp) = stack.invoke_trigger(&event).await;
        assert_eq!(status, 401, "{name}: {resp}");
        let msg = resp["error"].as_str().unwrap();
        assert!(msg.contains(expect), "{name}: {msg}");
        assert!(
            !msg.contains(escalation_devtools::stack::HMAC_KEY_B64),
            "{name}: secret leaked"
        );
    }
    nothing_happened(&stack).await;
}

#[tokio::test]
async fn method_size_and_body_are_checked() {
    let stack = Stack::start(StackOptions::default()).await;
    let (status, resp) = stack.invoke_trigger(&stack.url_event("GET", "", &[])).await;
    assert_eq!(status, 405, "{resp}");

    let big = format!(r#"{{"sys_id":"{SYS}","pad":"{}"}}"#, "x".repeat(65 * 1024));
    let (status, resp) = stack
        .invoke_trigger(&stack.signed_event(&big, "application/json"))
        .await;
    assert_eq!(status, 413, "{resp}");

    let missing = json!({"sys_id": SYS, "short_description": "x", "priority": "1"}).to_string();
    let (status, resp) = stack
        .invoke_trigger(&stack.signed_event(&missing, "application/json"))
        .await;
    assert_eq!(status, 400);
    assert!(
        resp["error"].as_str().unwrap().contains("`number`"),
        "{resp}"
    );

    let low = json!({"sys_id": SYS, "number": "INC1", "short_description": "x", "priority": "4"})
        .to_string();
    let (status, resp) = stack
        .invoke_trigger(&stack.signed_event(&low, "application/json"))
        .await;
    assert_eq!(status, 400);
    assert!(
        resp["error"]
            .as_str()
            .unwrap()
            .contains("priority 4 does not escalate"),
        "{resp}"
    );

    let (status, _) = stack
        .invoke_trigger(&stack.signed_event("{oops", "application/json"))
        .await;
    assert_eq!(status, 400);
    nothing_happened(&stack).await;
}

#[tokio::test]
async fn the_demo_form_body_starts_an_escalation() {
    let stack = Stack::start(StackOptions::default()).await;
    stack
        .sn
        .add_incident(SYS, "INC0020002", "Printer on fire", "1");
    let form = format!("short_description=Printer on fire&ticket_no=INC0020002&sys_id={SYS}");
    let (status, resp) = stack
        .invoke_trigger(&stack.signed_event(&form, "application/x-www-form-urlencoded"))
        .await;
    assert_eq!(status, 202, "{resp}");
    assert_eq!(resp["incident_number"], "INC0020002");
    stack.drain_dials().await;
    let ex = stack.twilio.executions();
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].parameters["short_description"], "Printer on fire");
    assert_eq!(ex[0].parameters["priority"], "1");
}

/// The trigger's answer waits for nothing on the telephony side: with every Studio create
/// held by the fake for a minute, ServiceNow still gets 202 (the escalation stored, its plan
/// noted, its first call queued), and no create is even sent until the dialer runs.
#[tokio::test]
async fn the_trigger_answers_202_while_twilio_holds_every_create() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.sn.add_incident(SYS, "INC0020005", "API errors", "1");
    stack.twilio.inject(escalation_fakes::fault::FaultRule {
        method: Some("POST".into()),
        path_contains: Some("/Executions".into()),
        delay_ms: 60_000,
        times: 100,
        ..Default::default()
    });
    let event = stack.signed_event(&body(), "application/json");
    let (status, resp) = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        stack.invoke_trigger(&event),
    )
    .await
    .expect("the trigger answered while Twilio held its creates");
    assert_eq!(status, 202, "{resp}");
    let esc = stack.escalation(SYS).await.expect("stored").escalation;
    assert_eq!(resp["escalation_id"], esc.id().as_str());
    assert_eq!(
        esc.current().unwrap().phase,
        escalation_core::escalation::Phase::Dialing
    );
    assert!(stack.twilio.requests().is_empty(), "no create was sent");
    assert_eq!(stack.dials_waiting().await, 1, "the first call is queued");
    while stack.pump_sqs().await.is_some() {}
    let notes = stack.sn.work_notes(SYS);
    assert!(notes[0].contains("Phone escalation started"), "{notes:#?}");

    stack.twilio.clear_faults();
    stack.drain_dials().await;
    assert_eq!(stack.twilio.executions().len(), 1, "the dialer placed it");
}

#[tokio::test]
async fn twilio_down_when_the_dialer_runs_keeps_the_call_queued_until_it_is_placed() {
    let stack = Stack::start(StackOptions::default()).await;
    // The business rule signs every send anew (a new timestamp, so a new signature).
    let mut ts = now() - 10;
    fn resigned(stack: &Stack, ts: &mut i64) -> serde_json::Value {
        *ts += 1;
        signed_at(&stack.key, &body(), *ts)
    }
    stack.sn.add_incident(SYS, "INC0020003", "API errors", "1");
    stack
        .twilio
        .inject(fault("POST", Some("/Executions"), 503, 50, None));
    let (status, resp) = stack.invoke_trigger(&resigned(&stack, &mut ts)).await;
    assert_eq!(status, 202, "{resp}");
    let (_, answer) = stack.pump_dials().await.expect("the queued call");
    let failed = answer.expect("the dialer answers");
    assert_eq!(
        failed["batchItemFailures"].as_array().map(Vec::len),
        Some(1),
        "the dial is given back to the queue: {failed}"
    );
    assert!(stack.twilio.executions().is_empty());
    assert_eq!(stack.dials_waiting().await, 1, "still queued");
    let esc = stack.escalation(SYS).await.expect("escalation recorded");
    assert_eq!(
        esc.escalation.current().unwrap().phase,
        escalation_core::escalation::Phase::Dialing
    );

    stack.twilio.clear_faults();
    stack.drain_dials().await;
    assert_eq!(stack.twilio.executions().len(), 1, "placed on redelivery");
    let (status, resp) = stack.invoke_trigger(&resigned(&stack, &mut ts)).await;
    assert_eq!(status, 200, "{resp}");
    stack.drain_dials().await;
    assert_eq!(stack.twilio.executions().len(), 1, "and only once");
}

#[tokio::test]
async fn a_replayed_request_is_refused() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.sn.add_incident(SYS, "INC0020004", "Outage", "1");
    let event = stack.signed_event(&body(), "application/json");
    let (status, _) = stack.invoke_trigger(&event).await;
    assert_eq!(status, 202);
    let (status, resp) = stack.invoke_trigger(&event).await;
    assert_eq!(status, 401, "{resp}");
    assert!(
        resp["error"].as_str().unwrap().contains("replayed request"),
        "{resp}"
    );
    stack.drain_dials().await;
    assert_eq!(stack.twilio.executions().len(), 1);
}

/// ServiceNow's scheduled heartbeat: signed like a trigger request, answered 200, counted,
/// and nothing is started; an unsigned one is refused.
#[tokio::test]
async fn a_signed_heartbeat_is_answered_and_starts_nothing() {
    let stack = Stack::start(StackOptions::default()).await;
    let body = r#"{"type":"heartbeat","event_id":"hb-1","instance":"dev12345"}"#;
    let (status, resp) = stack
        .invoke_trigger(&stack.signed_event(body, "application/json"))
        .await;
    assert_eq!(
        (status, resp),
        (200, serde_json::json!({"heartbeat": "ok"}))
    );
    assert!(stack.twilio.executions().is_empty());
    let unsigned = stack.url_event("POST", body, &[("content-type", "application/json".into())]);
    let (status, _) = stack.invoke_trigger(&unsigned).await;
    assert_eq!(
        status, 401,
        "a heartbeat proves the signing path only when it is signed"
    );
}

/// The business rule sends the group's name with its sys_id: notes name the team.
#[tokio::test]
async fn the_groups_name_travels_with_the_trigger_into_the_notes() {
    let stack = Stack::start(StackOptions::default()).await;
    stack
        .sn
        .add_incident(SYS, "INC0020009", "Orders DB down", "1");
    let body = json!({"sys_id": SYS, "number": "INC0020009", "short_description": "Orders DB down",
        "priority": "1", "assignment_group": "287ebd7da9fe198100f92cc8d1d2154e",
        "assignment_group_name": "Database", "event_id": "e-9"})
    .to_string();
    let (status, _) = stack
        .invoke_trigger(&stack.signed_event(&body, "application/json"))
        .await;
    assert_eq!(status, 202);
    while stack.pump_sqs().await.is_some() {}
    let notes = stack.sn.work_notes(SYS);
    assert!(
        notes[0].contains("started for priority 1 (Database)."),
        "{notes:#?}"
    );
    let esc = stack.escalation(SYS).await.unwrap().escalation;
    assert_eq!(
        esc.incident().group_label(),
        "Database",
        "the metrics' Group dimension"
    );
}

/// The replay mark is checked on every path, not only the escalation's: a signed cancel or
/// heartbeat sent again is refused and does nothing.
#[tokio::test]
async fn a_replayed_cancel_or_heartbeat_is_refused() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.sn.add_incident(SYS, "INC0020001", "Outage", "1");
    let (status, resp) = stack
        .invoke_trigger(&stack.signed_event(&body(), "application/json"))
        .await;
    assert_eq!(status, 202, "{resp}");
    let cancel = json!({"type": "cancel", "sys_id": SYS, "number": "INC0020001",
                        "reason": "resolved", "event_id": "c-1"})
    .to_string();
    let event = stack.signed_event(&cancel, "application/json");
    let (status, resp) = stack.invoke_trigger(&event).await;
    assert_eq!(
        (status, resp["status"].as_str()),
        (200, Some("CANCELLED")),
        "{resp}"
    );
    let (status, resp) = stack.invoke_trigger(&event).await;
    assert_eq!(status, 401, "{resp}");
    assert!(
        resp["error"].as_str().unwrap().contains("replayed request"),
        "{resp}"
    );

    let heartbeat = stack.signed_event(
        r#"{"type":"heartbeat","event_id":"hb-2"}"#,
        "application/json",
    );
    assert_eq!(stack.invoke_trigger(&heartbeat).await.0, 200);
    let (status, resp) = stack.invoke_trigger(&heartbeat).await;
    assert_eq!(status, 401, "{resp}");
}
