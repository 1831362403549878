//! Twilio Studio fake against a real HTTP client.

use std::time::{Duration, Instant};

use escalation_fakes::twilio::{CALL_WIDGET, GATHER_WIDGET};
use escalation_fakes::{AgentStep, FaultRule, TwilioFake, TwilioFakeConfig, TwilioHandle};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

const FROM: &str = "+15017122661";

fn config(auto_end: bool) -> TwilioFakeConfig {
    TwilioFakeConfig {
        account_sid: "AC0123456789abcdef0123456789abcdef".into(),
        username: "SK0123456789abcdef0123456789abcdef".into(),
        password: "api-secret".into(),
        flow_sid: "FW0123456789abcdef0123456789abcdef".into(),
        auto_end,
        ..TwilioFakeConfig::default()
    }
}

struct Fx {
    tw: TwilioHandle,
    cfg: TwilioFakeConfig,
    http: Client,
}

impl Fx {
    async fn start(auto_end: bool) -> Self {
        let cfg = config(auto_end);
        let tw = TwilioFake::start(cfg.clone()).await;
        Fx {
            tw,
            cfg,
            http: Client::new(),
        }
    }

    fn executions_url(&self) -> String {
        format!(
            "{}/v2/Flows/{}/Executions",
            self.tw.base_url(),
            self.cfg.flow_sid
        )
    }

    async fn create(&self, to: &str, params: Option<&str>) -> reqwest::Response {
        let mut form = vec![("To", to), ("From", FROM)];
        if let Some(p) = params {
            form.push(("Parameters", p));
        }
        self.http
            .post(self.executions_url())
            .basic_auth(&self.cfg.username, Some(&self.cfg.password))
            .form(&form)
            .send()
            .await
            .expect("request")
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.executions_url()))
            .basic_auth(&self.cfg.username, Some(&self.cfg.password))
            .send()
            .await
            .expect("request")
    }

    async fn end(&self, sid: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/{sid}", self.executions_url()))
            .basic_auth(&self.cfg.username, Some(&self.cfg.password))
            .form(&[("Status", "ended")])
            .send()
            .await
            .expect("request")
    }

    async fn context(&self, sid: &str) -> Value {
        let resp = self.get(&format!("/{sid}/Context")).await;
        assert_eq!(resp.status(), StatusCode::OK);
        resp.json::<Value>().await.expect("json")["context"].clone()
    }

    async fn wait_all_ended(&self) {
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.tw.executions().iter().any(|e| e.status != "ended") {
            assert!(Instant::now() < deadline, "executions did not end");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

async fn json_of(resp: reqwest::Response) -> Value {
    resp.json().await.expect("json body")
}

fn is_sid(s: &Value, prefix: &str) -> bool {
    s.as_str().is_some_and(|s| {
        s.len() == 34
            && s.starts_with(prefix)
            && s[2..]
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

#[tokio::test]
async fn auth_is_required() {
    let fx = Fx::start(true).await;
    let resp = fx
        .http
        .post(fx.executions_url())
        .basic_auth(&fx.cfg.username, Some("nope"))
        .form(&[("To", "+15558675310"), ("From", FROM)])
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        json_of(resp).await,
        json!({"code": 20003, "message": "Authenticate",
               "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401})
    );
    let resp = fx
        .http
        .get(fx.executions_url())
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(fx.tw.executions().is_empty());
    assert_eq!(fx.tw.requests().len(), 2);
}

#[tokio::test]
async fn create_returns_execution_and_conflicts_while_active() {
    let fx = Fx::start(false).await;
    let to = "+15558675310";
    let resp = fx
        .create(
            to,
            Some(r#"{"incident_number":"INC0012345","priority":"1"}"#),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let ex = json_of(resp).await;
    assert!(is_sid(&ex["sid"], "FN"), "sid {}", ex["sid"]);
    assert!(is_sid(&ex["contact_sid"], "FC"));
    assert_eq!(ex["account_sid"], fx.cfg.account_sid);
    assert_eq!(ex["flow_sid"], fx.cfg.flow_sid);
    assert_eq!(ex["contact_channel_address"], to);
    assert_eq!(ex["status"], "active");
    assert_eq!(ex["context"], json!({}));
    let created = ex["date_created"].as_str().expect("date");
    assert_eq!(created.len(), "2026-11-21T10:00:00Z".len());
    assert!(created.ends_with('Z') && created.as_bytes()[10] == b'T');
    let sid = ex["sid"].as_str().expect("sid").to_owned();
    assert_eq!(ex["url"], format!("{}/{sid}", fx.executions_url()));
    assert_eq!(
        ex["links"]["execution_context"],
        format!("{}/{sid}/Context", fx.executions_url())
    );

    // While active the context has flow / trigger / contact only.
    let ctx = fx.context(&sid).await;
    assert_eq!(ctx["flow"]["data"]["incident_number"], "INC0012345");
    assert_eq!(ctx["flow"]["channel"]["address"], FROM);
    assert_eq!(ctx["trigger"]["request"]["to"], to);
    assert_eq!(ctx["contact"]["channel"]["address"], to);
    assert!(ctx.get("widgets").is_none());

    // Same To/From while active: 409 exactly as documented.
    let resp = fx.create(to, None).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert_eq!(
        json_of(resp).await,
        json!({
            "code": 20409,
            "details": {"conflicting_execution_sid": sid},
            "message": format!("Execution {sid} is already active for this contact. End the active Execution before creating a new one"),
            "more_info": "https://www.twilio.com/docs/errors/20409",
            "status": 409,
        })
    );

    // Listing with a status filter.
    let list = json_of(fx.get("?Status=active").await).await;
    assert_eq!(list["meta"]["key"], "executions");
    assert_eq!(list["executions"].as_array().map(Vec::len), Some(1));

    // End it through the API, then a new execution is accepted.
    let resp = fx.end(&sid).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(json_of(resp).await["status"], "ended");
    assert_eq!(fx.create(to, None).await.status(), StatusCode::CREATED);
    let list = json_of(fx.get("?Status=ended").await).await;
    assert_eq!(list["executions"][0]["sid"], sid);

    let types: Vec<String> = fx
        .tw
        .events()
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        types,
        [
            "com.twilio.studio.flow.execution.started",
            "com.twilio.studio.flow.execution.ended",
            "com.twilio.studio.flow.execution.started",
        ]
    );
    let records = fx.tw.executions();
    assert_eq!(records[0].ended_by.as_deref(), Some("api"));
    assert_eq!(records[0].parameters["priority"], "1");
}

#[tokio::test]
async fn bad_requests() {
    let fx = Fx::start(false).await;
    let resp = fx
        .http
        .post(fx.executions_url())
        .basic_auth(&fx.cfg.username, Some(&fx.cfg.password))
        .form(&[("From", FROM)])
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let b = json_of(resp).await;
    assert_eq!(b["code"], 20001);
    assert_eq!(b["status"], 400);
    assert!(b["message"].as_str().is_some_and(|m| m.contains("To")));
    assert_eq!(
        fx.create("+15558675310", Some("[1,2]")).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        fx.create("+15558675310", Some("{oops")).await.status(),
        StatusCode::BAD_REQUEST
    );

    let resp = fx.get("/FN00000000000000000000000000000000").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(json_of(resp).await["code"], 20404);
    let resp = fx
        .http
        .get(format!(
            "{}/v2/Flows/FWffffffffffffffffffffffffffffffff/Executions",
            fx.tw.base_url()
        ))
        .basic_auth(&fx.cfg.username, Some(&fx.cfg.password))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        json_of(resp).await["more_info"],
        "https://www.twilio.com/docs/errors/20404"
    );
    assert!(fx.tw.executions().is_empty());
}

#[tokio::test]
async fn rate_limit_after_twenty_per_second() {
    let fx = Fx::start(false).await;
    for i in 0..20 {
        let resp = fx.create(&format!("+1555000{i:04}"), None).await;
        assert_eq!(resp.status(), StatusCode::CREATED, "creation {i}");
    }
    let resp = fx.create("+15559999999", None).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        resp.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    assert_eq!(
        json_of(resp).await,
        json!({"code": 20429, "message": "Too Many Requests",
               "more_info": "https://www.twilio.com/docs/errors/20429", "status": 429})
    );
    assert_eq!(fx.tw.executions().len(), 20);
}

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
    assert_eq!(steps["steps"][0]["transitioned_from"], GATHER_WIDGET);
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
    assert_eq!(
        resp.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("2")
    );
    let b = json_of(resp).await;
    assert_eq!(b["code"], 20503);
    assert_eq!(b["status"], 503);
    assert!(fx.tw.executions().is_empty());

    let base = fx.tw.base_url();
    let resp = fx
        .http
        .post(format!("{base}/__fake/agents"))
        .json(&json!({"phone": "+15550000007", "steps": [{"action": "press", "digit": "3"}]}))
        .send()
        .await
        .expect("request");
    assert!(resp.status().is_success());
    let resp = fx
        .http
        .post(format!("{base}/__fake/faults"))
        .json(&json!({"status": 502, "html_body": true}))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::CREATED);
    let resp = fx.create("+15550000007", None).await;
    assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
    assert!(resp.text().await.expect("body").contains("<html>"));

    assert_eq!(
        fx.create("+15550000007", None).await.status(),
        StatusCode::CREATED
    );
    let execs: Value = json_of(
        fx.http
            .get(format!("{base}/__fake/executions"))
            .send()
            .await
            .expect("request"),
    )
    .await;
    let sid = execs[0]["sid"].as_str().expect("sid").to_owned();
    assert_eq!(
        execs[0]["outcome"],
        json!({"action": "press", "digit": "3", "after_ms": 0})
    );
    let resp = fx
        .http
        .post(format!("{base}/__fake/executions/{sid}/complete"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        json_of(resp).await["type"],
        "com.twilio.studio.flow.execution.ended"
    );
    let events = json_of(
        fx.http
            .get(format!("{base}/__fake/events"))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(events.as_array().map(Vec::len), Some(3));
    let requests = json_of(
        fx.http
            .get(format!("{base}/__fake/requests"))
            .send()
            .await
            .expect("request"),
    )
    .await;
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

#[tokio::test]
async fn list_filters_by_creation_time() {
    let fx = Fx::start(false).await;
    assert_eq!(
        fx.create("+15550100001", None).await.status(),
        StatusCode::CREATED
    );
    let created = json_of(fx.get("").await).await["executions"][0]["date_created"]
        .as_str()
        .expect("date_created")
        .to_string();
    // From its own creation second (inclusive): listed; with an offset meaning the same
    // instant: listed; from the next second: not; before its second (exclusive): not.
    let count = |v: &Value| v["executions"].as_array().map_or(0, Vec::len);
    let from = json_of(fx.get(&format!("?DateCreatedFrom={created}")).await).await;
    assert_eq!(count(&from), 1, "{from}");
    assert!(
        from["meta"]["url"]
            .as_str()
            .unwrap()
            .contains(&format!("DateCreatedFrom={created}"))
    );
    let (date, time) = created.trim_end_matches('Z').split_once('T').unwrap();
    let hour: u32 = time[..2].parse().unwrap();
    let with_offset = format!("{date}T{:02}{}+00:00", hour, &time[2..]);
    assert_eq!(
        count(
            &json_of(
                fx.get(&format!(
                    "?DateCreatedFrom={}",
                    with_offset.replace('+', "%2B")
                ))
                .await
            )
            .await
        ),
        1
    );
    let secs: u32 = time[6..8].parse().unwrap();
    if secs < 59 {
        let later = format!("{date}T{}{:02}Z", &time[..6], secs + 1);
        assert_eq!(
            count(&json_of(fx.get(&format!("?DateCreatedFrom={later}")).await).await),
            0
        );
    }
    assert_eq!(
        count(&json_of(fx.get(&format!("?DateCreatedTo={created}")).await).await),
        0
    );
    // A malformed date is a 400 in Twilio's envelope.
    let resp = fx.get("?DateCreatedFrom=yesterday").await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body = json_of(resp).await;
    assert_eq!(body["code"], 20001);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("DateCreatedFrom")
    );
}
