//! The people the Twilio fake simulates on its Studio calls (scripted per number), the
//! context and events each execution ends with, and the fake's faults and control routes.

mod support;

use escalation_fakes::twilio::{CALL_WIDGET, GATHER_WIDGET};
use escalation_fakes::{AgentStep, FaultRule};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::studio::{FROM, Fx, is_sid};
use support::{header, json_of};

#[tokio::test]
async fn simulated_agents_end_with_the_right_context_and_events() {
    let fx = Fx::start(true).await;
    let cases: Vec<(&str, AgentStep)> = vec![
        (
            "+15550000001",
            AgentStep::Press {
                digit: "1".into(),
                after_ms: 10,
            },
        ),
        ("+15550000002", AgentStep::Hangup { after_ms: 0 }),
        ("+15550000003", AgentStep::Machine { after_ms: 0 }),
        ("+15550000004", AgentStep::NoAnswer { after_ms: 0 }),
        ("+15550000005", AgentStep::Busy { after_ms: 0 }),
        ("+15550000006", AgentStep::Failed { after_ms: 0 }),
    ];
    for (phone, step) in &cases {
        fx.tw.script(phone, vec![step.clone()]);
    }
    let mut sids = Vec::new();
    for (phone, _) in &cases {
        let resp = fx
            .create(phone, Some(r#"{"incident_number":"INC0012345"}"#))
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        sids.push(json_of(resp).await["sid"].as_str().expect("sid").to_owned());
    }
    // Unscripted numbers do not answer.
    let resp = fx.create("+15550000999", None).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let unscripted = json_of(resp).await["sid"].as_str().expect("sid").to_owned();
    fx.wait_all_ended().await;

    for ((phone, step), sid) in cases.iter().zip(&sids) {
        let ctx = fx.context(sid).await;
        let call = &ctx["widgets"][CALL_WIDGET];
        assert!(
            call["CallSid"]
                .as_str()
                .is_some_and(|c| c.starts_with("CA"))
        );
        assert_eq!(call["To"], *phone);
        assert_eq!(call["From"], FROM);
        assert_eq!(ctx["flow"]["data"]["incident_number"], "INC0012345");
        let gather = ctx["widgets"].get(GATHER_WIDGET);
        match step {
            AgentStep::Press { digit, .. } => {
                assert_eq!(call["CallStatus"], "completed");
                assert_eq!(call["AnsweredBy"], "human");
                assert_eq!(gather.map(|g| g["Digits"].clone()), Some(json!(digit)));
            }
            AgentStep::Hangup { .. } => {
                assert_eq!(call["AnsweredBy"], "human");
                let g = gather.expect("gather ran");
                assert!(g.get("Digits").is_none(), "timeout has no Digits");
            }
            AgentStep::Machine { .. } => {
                assert_eq!(call["CallStatus"], "completed");
                assert_eq!(call["AnsweredBy"], "machine_start");
                assert!(gather.is_none());
            }
            AgentStep::Keys { .. } => unreachable!("not scripted here"),
            AgentStep::NoAnswer { .. } | AgentStep::Busy { .. } | AgentStep::Failed { .. } => {
                let expected = match step {
                    AgentStep::NoAnswer { .. } => "no-answer",
                    AgentStep::Busy { .. } => "busy",
                    _ => "failed",
                };
                assert_eq!(call["CallStatus"], expected);
                assert!(call.get("AnsweredBy").is_none());
                assert!(gather.is_none());
            }
        }
    }
    let ctx = fx.context(&unscripted).await;
    assert_eq!(ctx["widgets"][CALL_WIDGET]["CallStatus"], "no-answer");

    // Events: 7 executions x (started, step.ended, ended); data alternates object / string.
    let events = fx.tw.events();
    assert_eq!(events.len(), 21);
    let mut ids = std::collections::HashSet::new();
    for (i, ev) in events.iter().enumerate() {
        assert_eq!(ev["specversion"], "1.0");
        assert!(is_sid(&ev["id"], "EZ"));
        assert!(
            ids.insert(ev["id"].as_str().unwrap_or_default().to_owned()),
            "unique ids"
        );
        assert_eq!(ev["datacontenttype"], "application/json");
        assert!(
            ev["time"]
                .as_str()
                .is_some_and(|t| t.len() == 24 && t.ends_with('Z'))
        );
        let data = if i % 2 == 0 {
            assert!(ev["data"].is_object(), "event {i} data is an object");
            ev["data"].clone()
        } else {
            let s = ev["data"].as_str().expect("event data is a string");
            serde_json::from_str(s).expect("data string is JSON")
        };
        let ty = ev["type"].as_str().expect("type");
        if ty == "com.twilio.studio.flow.step.ended" {
            assert!(is_sid(&data["step_sid"], "FT"));
            assert_eq!(data["transitioned_to"], "Ended");
            continue;
        }
        assert_eq!(
            ev["dataschema"],
            "https://events-schemas.twilio.com/Studio.FlowExecutionEvent/2"
        );
        let sid = data["execution_sid"].as_str().expect("execution_sid");
        assert_eq!(
            ev["source"],
            format!("/v2/Flows/{}/Executions/{sid}", fx.cfg.flow_sid)
        );
        assert_eq!(data["account_sid"], fx.cfg.account_sid);
        assert_eq!(data["flow_sid"], fx.cfg.flow_sid);
        assert_eq!(data["flow_revision"], 1);
        assert!(is_sid(&data["started_by"], "CA"));
        assert!(
            data["contact_channel_address"]
                .as_str()
                .is_some_and(|a| a.starts_with("+1555"))
        );
        match ty {
            "com.twilio.studio.flow.execution.started" => {
                assert_eq!(data["status"], "active");
                assert!(data.get("ended_reason").is_none());
            }
            "com.twilio.studio.flow.execution.ended" => {
                assert_eq!(data["status"], "ended");
                assert_eq!(data["ended_reason"], "FLOW_END");
                // The step event of the same execution came just before.
                let prev = &events[i - 1];
                assert_eq!(prev["type"], "com.twilio.studio.flow.step.ended");
            }
            other => panic!("unexpected type {other}"),
        }
    }
}

#[tokio::test]
async fn scripts_are_consumed_and_complete_works_without_auto_end() {
    let fx = Fx::start(false).await;
    let to = "+15550000042";
    fx.tw.script(
        "+1 555 000 0042",
        vec![
            AgentStep::NoAnswer { after_ms: 0 },
            AgentStep::Press {
                digit: "2".into(),
                after_ms: 0,
            },
        ],
    );
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        let resp = fx.create(to, None).await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        let sid = json_of(resp).await["sid"].as_str().expect("sid").to_owned();
        assert_eq!(
            fx.tw
                .executions()
                .last()
                .map(|e| e.status.clone())
                .as_deref(),
            Some("active")
        );
        let ended = fx.tw.complete(&sid).await.expect("ended event");
        assert_eq!(ended["type"], "com.twilio.studio.flow.execution.ended");
        assert!(fx.tw.complete(&sid).await.is_none(), "already ended");
        let ctx = fx.context(&sid).await;
        outcomes.push(ctx["widgets"][CALL_WIDGET]["CallStatus"].clone());
        if outcomes.len() > 1 {
            assert_eq!(ctx["widgets"][GATHER_WIDGET]["Digits"], "2");
        }
    }
    assert_eq!(
        outcomes,
        vec![json!("no-answer"), json!("completed"), json!("completed")]
    );
    let steps = json_of(
        fx.get(&format!("/{}/Steps", fx.tw.executions()[1].sid))
            .await,
    )
    .await;
    // The flow was walked to its end: the confirmation of the 2 was the last widget.
    assert_eq!(steps["steps"][0]["transitioned_from"], "say_passed");
    assert_eq!(steps["steps"][0]["name"], "audioComplete");
}

#[tokio::test]
async fn faults_and_control_routes() {
    let fx = Fx::start(false).await;
    fx.tw.inject(FaultRule {
        method: Some("POST".into()),
        path_contains: Some("/Executions".into()),
        status: 503,
        retry_after_secs: Some(2),
        ..FaultRule::default()
    });
    let resp = fx.create("+15550000007", None).await;
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(header(&resp, "retry-after"), Some("2"));
    let b = json_of(resp).await;
    assert_eq!(b["code"], 20503);
    assert_eq!(b["status"], 503);
    assert!(fx.tw.executions().is_empty());

    let agent = json!({"phone": "+15550000007", "steps": [{"action": "press", "digit": "3"}]});
    let resp = fx.control_post("agents", Some(agent)).await;
    assert!(resp.status().is_success());
    let fault = json!({"status": 502, "html_body": true});
    let resp = fx.control_post("faults", Some(fault)).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let resp = fx.create("+15550000007", None).await;
    assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
    assert!(resp.text().await.expect("body").contains("<html>"));

    assert_eq!(
        fx.create("+15550000007", None).await.status(),
        StatusCode::CREATED
    );
    let execs: Value = fx.control_get("executions").await;
    let sid = execs[0]["sid"].as_str().expect("sid").to_owned();
    assert_eq!(
        execs[0]["outcome"],
        json!({"action": "press", "digit": "3", "after_ms": 0})
    );
    let resp = fx
        .control_post(&format!("executions/{sid}/complete"), None)
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        json_of(resp).await["type"],
        "com.twilio.studio.flow.execution.ended"
    );
    let events = fx.control_get("events").await;
    assert_eq!(events.as_array().map(Vec::len), Some(3));
    let requests = fx.control_get("requests").await;
    let statuses: Vec<u64> = requests
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|r| r["status"].as_u64())
        .collect();
    assert_eq!(statuses, vec![503, 502, 201]);
    assert_eq!(
        fx.context(&sid).await["widgets"][GATHER_WIDGET]["Digits"],
        "3"
    );
}
