//! Many presses of 1 for the same attempt at once, through the real handlers: call-decision
//! served over HTTP as its function URL, the shipped flow walked by the Twilio fake (whose
//! own report is one more press), flow-events for the call's end, incident-updater for
//! ServiceNow; moto. However many requests race, the incident is assigned once: one
//! outcome in the history, one assignment PATCH, one ACCEPTED note; each replay is
//! answered as the same accept, and a pass sent after it hears who has the incident.

mod support;

use escalation_devtools::decision_url;
use escalation_devtools::stack::{ALICE, Stack, StackOptions};
use serde_json::Value;
use support::{SETTLE, complete, patches, press, sys_id};

const PRESSES: usize = 8;

async fn post(url: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(url)
        .form(form)
        .send()
        .await
        .expect("call-decision answers");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("a JSON answer"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_presses_at_once_assign_the_incident_once() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let stack = Stack::start(StackOptions {
        env: vec![("DECISION_URL", url.clone())],
        auto_end: false,
        ..StackOptions::default()
    })
    .await;
    let decision = stack
        .parts
        .call_decision(&stack.aws, &stack.resources.dial_queue_url)
        .expect("call-decision");
    decision_url::serve(listener, decision);
    stack.twilio.script(ALICE, vec![press("1")]);
    let id = sys_id(1351);
    assert_eq!(
        stack.trigger(&id, "INC0011351", "Disk full", "1").await.0,
        202
    );
    stack.drain_dials().await;
    let call = stack.twilio.executions().pop().expect("Alice is called");
    let p = &call.parameters;
    let field = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
    let (token, escalation_id) = (field("decision_token"), field("escalation_id"));
    assert!(!token.is_empty(), "the call carries its token: {p}");
    let attempt = p["attempt"].to_string().trim_matches('"').to_owned();
    let form = |digit: &'static str| {
        vec![
            ("token", token.clone()),
            ("escalation_id", escalation_id.clone()),
            ("sys_id", id.clone()),
            ("attempt", attempt.clone()),
            ("execution_sid", call.sid.clone()),
            ("digit", digit.to_owned()),
        ]
    };

    let accept = form("1");
    let accept: Vec<(&str, &str)> = accept.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answers = futures::future::join_all((0..PRESSES).map(|_| post(&url, &accept))).await;
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(
            body["outcome"], "assigned",
            "a replay is the same accept: {body}"
        );
        assert!(
            body["say"]
                .as_str()
                .is_some_and(|s| s.starts_with("You are assigned")),
            "{body}"
        );
    }
    // The same attempt's pass after the accept changes nothing and says who has it.
    let pass = form("2");
    let pass: Vec<(&str, &str)> = pass.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, late) = post(&url, &pass).await;
    assert_eq!(status, 200, "{late}");
    assert_eq!(late["outcome"], "already_accepted", "{late}");
    assert_eq!(late["accepted_by"], "Alice Agent", "{late}");

    // The call ends: the flow's own report and the flow-end event are duplicates.
    let ended = complete(&stack, &call.sid).await;
    assert_eq!(ended.len(), 1);
    let resp = stack
        .invoke_flow_events(serde_json::json!({ "Records": ended }))
        .await;
    assert_eq!(resp["batchItemFailures"], serde_json::json!([]), "{resp}");
    stack.settle(&[&id], SETTLE).await;

    let esc = stack.escalation(&id).await.expect("stored").escalation;
    assert_eq!(esc.accepted_by(), Some("Alice Agent"));
    assert_eq!(esc.history().len(), 1, "one outcome: {:?}", esc.history());
    let assignments: Vec<Value> = patches(&stack, &id)
        .into_iter()
        .filter(|b| b.get("assigned_to").is_some())
        .collect();
    assert_eq!(
        assignments.len(),
        1,
        "one assignment PATCH: {assignments:#?}"
    );
    let accepted = stack
        .sn
        .work_notes(&id)
        .iter()
        .filter(|n| n.contains("ACCEPTED by Alice"))
        .count();
    assert_eq!(accepted, 1, "one ACCEPTED note");
    assert_eq!(stack.twilio.executions().len(), 1, "nobody else is called");
}
