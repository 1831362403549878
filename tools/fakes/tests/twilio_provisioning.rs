//! The Twilio fake's provisioning APIs (Studio Flows + Validate, Event Streams sinks and
//! subscriptions) against a real HTTP client.

use escalation_fakes::{SubscribedEventRecord, TwilioFake, TwilioFakeConfig, TwilioHandle};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

const USER: &str = "SK0123456789abcdef0123456789abcdef";
const PASS: &str = "api-secret";
const ENDED: &str = "com.twilio.studio.flow.execution.ended";

struct Fx {
    tw: TwilioHandle,
    http: Client,
}

impl Fx {
    async fn start() -> Self {
        let tw = TwilioFake::start(TwilioFakeConfig {
            account_sid: "AC0123456789abcdef0123456789abcdef".into(),
            username: USER.into(),
            password: PASS.into(),
            ..TwilioFakeConfig::default()
        })
        .await;
        Fx {
            tw,
            http: Client::new(),
        }
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.tw.base_url()))
            .basic_auth(USER, Some(PASS))
            .form(form)
            .send()
            .await
            .expect("request");
        (resp.status(), resp.json().await.expect("json body"))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.tw.base_url()))
            .basic_auth(USER, Some(PASS))
            .send()
            .await
            .expect("request");
        (resp.status(), resp.json().await.expect("json body"))
    }
}

fn definition() -> Value {
    json!({
        "description": "test",
        "flags": {"allow_concurrent_calls": true},
        "initial_state": "Trigger",
        "states": [
            {"name": "Trigger", "type": "trigger", "properties": {},
             "transitions": [{"event": "incomingRequest", "next": "say"}]},
            {"name": "say", "type": "say-play", "properties": {"say": "hello"},
             "transitions": [{"event": "audioComplete"}]},
        ],
    })
}

fn kinesis_config() -> String {
    json!({
        "arn": "arn:aws:kinesis:us-east-1:111111111111:stream/flow-events",
        "role_arn": "arn:aws:iam::111111111111:role/twilio-events",
        "external_id": "0123456789abcdef0123",
    })
    .to_string()
}

#[tokio::test]
async fn flows_are_created_listed_fetched_and_updated() {
    let fx = Fx::start().await;
    let def = definition().to_string();
    let (status, flow) = fx
        .post(
            "/v2/Flows",
            &[
                ("FriendlyName", "Escalation"),
                ("Status", "published"),
                ("Definition", &def),
                ("CommitMessage", "first"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let sid = flow["sid"].as_str().expect("sid").to_owned();
    assert!(sid.starts_with("FW") && sid.len() == 34);
    assert_eq!(flow["revision"], 1);
    assert_eq!(flow["status"], "published");
    assert_eq!(flow["definition"], definition());
    assert_eq!(flow["valid"], true);
    assert_eq!(flow["commit_message"], "first");

    // The list carries no definitions (as Twilio's).
    let (status, list) = fx.get("/v2/Flows").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["meta"]["key"], "flows");
    assert_eq!(list["flows"][0]["sid"], sid.as_str());
    assert_eq!(list["flows"][0]["definition"], Value::Null);

    let (status, fetched) = fx.get(&format!("/v2/Flows/{sid}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched["definition"], definition());

    // Update is a full replace and bumps the revision.
    let mut changed = definition();
    changed["states"][1]["properties"]["say"] = json!("goodbye");
    let (status, updated) = fx
        .post(
            &format!("/v2/Flows/{sid}"),
            &[
                ("Status", "published"),
                ("Definition", &changed.to_string()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(updated["revision"], 2);
    assert_eq!(updated["definition"], changed);
    assert_eq!(updated["commit_message"], Value::Null);
    assert_eq!(fx.tw.flows()[0].revision, 2);

    // Status is required on update; unknown flows are 404.
    let (status, err) = fx
        .post(&format!("/v2/Flows/{sid}"), &[("FriendlyName", "x")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["code"], 20001);
    let (status, err) = fx.get("/v2/Flows/FW00000000000000000000000000000000").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["code"], 20404);
}

#[tokio::test]
async fn validate_reports_structural_errors_with_property_paths() {
    let fx = Fx::start().await;
    let (status, body) = fx
        .post(
            "/v2/Flows/Validate",
            &[
                ("FriendlyName", "x"),
                ("Status", "published"),
                ("Definition", &definition().to_string()),
            ],
        )
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"valid": true})));

    let mut broken = definition();
    broken["states"][0]["transitions"][0]["next"] = json!("nowhere");
    broken["states"][1]["type"] = json!("make-coffee");
    let (status, body) = fx
        .post(
            "/v2/Flows/Validate",
            &[
                ("FriendlyName", "x"),
                ("Status", "published"),
                ("Definition", &broken.to_string()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["status"], 400);
    let errors = body["details"]["errors"].as_array().expect("errors");
    let paths: Vec<&str> = errors
        .iter()
        .map(|e| e["property_path"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(paths, ["#/states/0/transitions/0/next", "#/states/1/type"]);
    assert!(
        errors[1]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("make-coffee")
    );

    // Missing initial_state and states; not JSON at all.
    let (status, body) = fx
        .post(
            "/v2/Flows/Validate",
            &[
                ("FriendlyName", "x"),
                ("Status", "draft"),
                ("Definition", "{}"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["details"]["errors"].as_array().map(Vec::len), Some(2));
    let (status, body) = fx
        .post(
            "/v2/Flows/Validate",
            &[
                ("FriendlyName", "x"),
                ("Status", "draft"),
                ("Definition", "{oops"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["details"]["errors"][0]["property_path"], "#");

    // Create refuses an invalid definition the same way and stores nothing.
    let (status, _) = fx
        .post(
            "/v2/Flows",
            &[
                ("FriendlyName", "x"),
                ("Status", "published"),
                ("Definition", &broken.to_string()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(fx.tw.flows().is_empty());
}

#[tokio::test]
async fn provisioning_requires_credentials() {
    let fx = Fx::start().await;
    for path in ["/v2/Flows", "/v1/Sinks", "/v1/Subscriptions"] {
        let resp = fx
            .http
            .get(format!("{}{path}", fx.tw.base_url()))
            .basic_auth(USER, Some("wrong"))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
}

#[tokio::test]
async fn kinesis_sink_and_subscription() {
    let fx = Fx::start().await;
    let config = kinesis_config();
    let (status, sink) = fx
        .post(
            "/v1/Sinks",
            &[
                ("Description", "studio events"),
                ("SinkType", "kinesis"),
                ("SinkConfiguration", &config),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let dg = sink["sid"].as_str().expect("sid").to_owned();
    assert!(dg.starts_with("DG"));
    assert_eq!(sink["status"], "active");
    assert_eq!(
        sink["sink_configuration"]["role_arn"],
        "arn:aws:iam::111111111111:role/twilio-events"
    );

    // Not yet in use.
    let (_, unused) = fx.get("/v1/Sinks?InUse=false").await;
    assert_eq!(unused["sinks"][0]["sid"], dg.as_str());
    assert_eq!(unused["meta"]["key"], "sinks");

    // Types: repeated fields, each a JSON object.
    let (status, sub) = fx
        .post(
            "/v1/Subscriptions",
            &[
                ("Description", "escalation"),
                ("SinkSid", &dg),
                (
                    "Types",
                    &json!({"type": ENDED, "schema_version": 2}).to_string(),
                ),
                (
                    "Types",
                    &json!({"type": "com.twilio.studio.flow.step.ended"}).to_string(),
                ),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let df = sub["sid"].as_str().expect("sid").to_owned();
    assert_eq!(sub["sink_sid"], dg.as_str());
    assert_eq!(
        fx.tw.subscriptions()[0].types,
        vec![
            SubscribedEventRecord {
                event_type: ENDED.into(),
                schema_version: 2
            },
            SubscribedEventRecord {
                event_type: "com.twilio.studio.flow.step.ended".into(),
                schema_version: 1
            },
        ]
    );

    let (_, used) = fx.get("/v1/Sinks?InUse=true").await;
    assert_eq!(used["sinks"].as_array().map(Vec::len), Some(1));
    let (_, subs) = fx.get(&format!("/v1/Subscriptions?SinkSid={dg}")).await;
    assert_eq!(subs["subscriptions"][0]["sid"], df.as_str());
    let (_, types) = fx
        .get(&format!("/v1/Subscriptions/{df}/SubscribedEvents"))
        .await;
    assert_eq!(types["meta"]["key"], "types");
    assert_eq!(types["types"][0]["type"], ENDED);
    assert_eq!(types["types"][0]["schema_version"], 2);

    // Adding a type to the subscription.
    let (status, added) = fx
        .post(
            &format!("/v1/Subscriptions/{df}/SubscribedEvents"),
            &[("Type", "com.twilio.studio.flow.execution.started")],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(added["schema_version"], 2);
    assert_eq!(fx.tw.subscriptions()[0].types.len(), 3);

    // The same state over the control routes (a fake in another process).
    let control = |what: &str| {
        let url = format!("{}/__fake/{what}", fx.tw.base_url());
        let http = fx.http.clone();
        async move {
            http.get(url)
                .send()
                .await
                .expect("request")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    assert_eq!(control("sinks").await[0]["sid"], dg.as_str());
    assert_eq!(
        control("subscriptions").await[0]["types"][2]["type"],
        "com.twilio.studio.flow.execution.started"
    );
    assert_eq!(control("flows").await, json!([]));
}

#[tokio::test]
async fn sink_and_subscription_errors() {
    let fx = Fx::start().await;
    // A kinesis configuration without external_id: 91000.
    let (status, err) = fx
        .post(
            "/v1/Sinks",
            &[
                ("Description", "x"),
                ("SinkType", "kinesis"),
                (
                    "SinkConfiguration",
                    r#"{"arn":"arn:aws:kinesis:us-east-1:1:stream/s","role_arn":"arn:aws:iam::1:role/r"}"#,
                ),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["code"], 91000);
    assert!(
        err["message"]
            .as_str()
            .unwrap_or_default()
            .contains("external_id")
    );

    let (status, _) = fx
        .post(
            "/v1/Sinks",
            &[
                ("Description", "x"),
                ("SinkType", "carrier-pigeon"),
                ("SinkConfiguration", "{}"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let config = kinesis_config();
    let (_, sink) = fx
        .post(
            "/v1/Sinks",
            &[
                ("Description", "x"),
                ("SinkType", "kinesis"),
                ("SinkConfiguration", &config),
            ],
        )
        .await;
    let dg = sink["sid"].as_str().expect("sid").to_owned();

    // One Types field holding a JSON array is refused, as Twilio does.
    let array = json!([{"type": ENDED}]).to_string();
    let (status, err) = fx
        .post(
            "/v1/Subscriptions",
            &[("Description", "x"), ("SinkSid", &dg), ("Types", &array)],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        err["message"],
        "Missing required input parameter event_types[0].type"
    );

    // Unknown sink; sink that is not active.
    let one = json!({"type": ENDED}).to_string();
    let (status, _) = fx
        .post(
            "/v1/Subscriptions",
            &[
                ("Description", "x"),
                ("SinkSid", "DG00000000000000000000000000000000"),
                ("Types", &one),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(fx.tw.set_sink_status(&dg, "initialized"));
    let (status, err) = fx
        .post(
            "/v1/Subscriptions",
            &[("Description", "x"), ("SinkSid", &dg), ("Types", &one)],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        err["message"]
            .as_str()
            .unwrap_or_default()
            .contains("active")
    );
    assert!(fx.tw.subscriptions().is_empty());
}
