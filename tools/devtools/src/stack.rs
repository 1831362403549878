//! A whole escalation stack in one process for tests: moto (Kinesis, DynamoDB, SQS,
//! Secrets Manager), the ServiceNow and Twilio fakes, and the real Lambda handlers driven
//! by the event-source stand-ins.

use crate::aws::{Resources, create_resources, moto_endpoint, sdk_config};
use crate::esm::{KinesisPoller, SqsPoller};
use aws_lambda_events::event::sqs::SqsEvent;
use base64::Engine as _;
use escalation_adapters::clock::now_ms;
use escalation_adapters::retry::RetryPolicy;
use escalation_adapters::signing::SigningKey;
use escalation_core::model::{Roster, SysId};
use escalation_core::ports::{EscalationRepo, Stored};
use escalation_core::usecase::Engine;
use escalation_fakes::servicenow::{ServiceNowFake, ServiceNowHandle};
use escalation_fakes::twilio::{EventSink, TwilioFake, TwilioFakeConfig, TwilioHandle};
use escalation_lambda::config::{EngineConfig, UpdaterConfig};
use escalation_lambda::handlers::{FlowEvents, Sweeper, Trigger, Updater};
use escalation_lambda::wiring::{self, Aws, EngineParts};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

pub const FLOW_SID: &str = "FW0123456789abcdef0123456789abcdef";
pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const API_KEY_SID: &str = "SK0123456789abcdef0123456789abcdef";
pub const API_KEY_SECRET: &str = "local-twilio-secret";
pub const FROM_NUMBER: &str = "+15550109999";
pub const SN_USER: &str = "svc_escalation";
pub const SN_PASSWORD: &str = "local-sn-password";
/// base64 of 32 bytes, the form ServiceNow's generateMac takes.
pub const HMAC_KEY_B64: &str = "bG9jYWwtc3RhY2stc2hhcmVkLWtleS0zMi1ieXRlcyE=";

/// The roster tests use: two agents, one escalation contact, all mapped to SN users.
pub const TEST_ROSTER: &str = r#"{
  "agent_list": [
    {"name": "Alice Agent", "phone_no": "+15550100001", "role": "primary", "index": 0, "sn_user": "alice.agent"},
    {"name": "Bob Agent", "phone_no": "+15550100002", "role": "secondary", "index": 1, "sn_user": "bob.agent"}
  ],
  "escalation_list": [
    {"name": "Carol Manager", "phone_no": "+15550100003", "role": "manager", "index": 0, "sn_user": "carol.manager"}
  ]
}"#;

pub const ALICE: &str = "+15550100001";
pub const BOB: &str = "+15550100002";
pub const CAROL: &str = "+15550100003";

/// sys_ids the ServiceNow fake gives the roster's users.
pub fn user_sys_id(user_name: &str) -> String {
    let mut id: String = user_name.bytes().map(|b| format!("{:02x}", b)).collect();
    id.truncate(32);
    format!("{id:0<32}")
}

pub struct StackOptions {
    pub roster_json: String,
    /// Extra environment for the functions (MAX_REDIALS, ROUNDS, ...).
    pub env: Vec<(&'static str, String)>,
    /// Whether simulated agents end their calls by themselves.
    pub auto_end: bool,
}

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            roster_json: TEST_ROSTER.to_string(),
            env: Vec::new(),
            auto_end: true,
        }
    }
}

pub struct Stack {
    /// The engine's adapters (on moto and the fakes), to build variants of the functions.
    pub parts: EngineParts,
    /// The engine the functions share (as one container would).
    pub engine: Engine,
    pub trigger: Trigger,
    pub flow_events: FlowEvents,
    pub updater: Updater,
    pub sweeper: Sweeper,
    /// The SDK configuration, the secret and the HTTP client the functions were built from.
    pub aws: Aws,
    pub sn: ServiceNowHandle,
    pub twilio: TwilioHandle,
    pub resources: Resources,
    pub sdk: aws_config::SdkConfig,
    pub key: SigningKey,
    kinesis: Mutex<KinesisPoller>,
    sqs: SqsPoller,
    _roster_dir: TempDir,
}

/// A directory removed on drop.
struct TempDir(std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn secret_json() -> String {
    json!({
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_api_key_sid": API_KEY_SID,
        "twilio_api_key_secret": API_KEY_SECRET,
        "servicenow_username": SN_USER,
        "servicenow_password": SN_PASSWORD,
        "trigger_hmac_key": HMAC_KEY_B64,
        "twilio_auth_token": crate::inbound_support::AUTH_TOKEN,
    })
    .to_string()
}

impl Stack {
    pub async fn start(opts: StackOptions) -> Stack {
        let sdk = sdk_config(&moto_endpoint()).await;
        let prefix = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let resources = create_resources(&sdk, &prefix, &secret_json()).await;

        let sn = ServiceNowFake::start(SN_USER, SN_PASSWORD).await;
        let roster = Roster::from_json(&opts.roster_json).expect("test roster");
        for p in roster.people() {
            if let Some(u) = &p.sn_user {
                sn.add_user(&user_sys_id(u), u, &p.name, p.phone.as_str());
            }
        }
        let twilio = TwilioFake::start(TwilioFakeConfig {
            account_sid: ACCOUNT_SID.into(),
            username: API_KEY_SID.into(),
            password: API_KEY_SECRET.into(),
            flow_sid: FLOW_SID.into(),
            events: EventSink::Kinesis {
                client: aws_sdk_kinesis::Client::new(&sdk),
                stream_name: resources.stream_name.clone(),
            },
            rate_limit_per_sec: 20,
            auto_end: opts.auto_end,
        })
        .await;

        let dir = std::env::temp_dir().join(format!("escalation-{prefix}"));
        std::fs::create_dir_all(&dir).unwrap();
        let roster_path = dir.join("agent_list.json");
        std::fs::write(&roster_path, &opts.roster_json).unwrap();

        let mut env: HashMap<String, String> = [
            ("TWILIO_FLOW_SID", FLOW_SID.to_string()),
            ("TWILIO_FROM_NUMBER", FROM_NUMBER.to_string()),
            ("ESCALATIONS_TABLE", resources.table.clone()),
            ("SN_UPDATES_QUEUE_URL", resources.queue_url.clone()),
            ("SECRETS_ARN", resources.secret_arn.clone()),
            ("SERVICENOW_INSTANCE_URL", sn.base_url()),
            ("TWILIO_STUDIO_BASE_URL", twilio.base_url()),
            ("ROSTER_PATH", roster_path.display().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (k, v) in opts.env {
            env.insert(k.to_string(), v);
        }
        let config = EngineConfig::from_map(&env).expect("stack config");
        let aws = Aws::load(sdk.clone(), &config.secrets_arn, RetryPolicy::fast())
            .await
            .expect("secret");
        let parts = EngineParts::build(&config, &aws).expect("engine");
        let concurrency =
            escalation_lambda::config::flow_events_concurrency(&env).expect("concurrency");
        let updater = wiring::updater(
            &UpdaterConfig::from_map(&env).expect("updater config"),
            &aws,
        )
        .expect("updater");
        let kinesis = KinesisPoller::new(
            aws_sdk_kinesis::Client::new(&sdk),
            &resources.stream_name,
            &resources.stream_arn,
        )
        .await;
        let sqs = SqsPoller::new(aws_sdk_sqs::Client::new(&sdk), &resources.queue_url).await;
        Stack {
            engine: parts.engine(),
            trigger: parts.trigger(&aws).expect("trigger"),
            flow_events: parts.flow_events(FLOW_SID, concurrency),
            sweeper: parts.sweeper(),
            updater,
            parts,
            aws,
            sn,
            twilio,
            key: SigningKey::from_base64(HMAC_KEY_B64).unwrap(),
            resources,
            sdk,
            kinesis: Mutex::new(kinesis),
            sqs,
            _roster_dir: TempDir(dir),
        }
    }

    /// Seed the incident in the ServiceNow fake and send the business rule's signed request.
    pub async fn trigger(
        &self,
        sys_id: &str,
        number: &str,
        short_description: &str,
        priority: &str,
    ) -> (u16, Value) {
        self.sn
            .add_incident(sys_id, number, short_description, priority);
        let body = json!({
            "sys_id": sys_id, "number": number, "short_description": short_description,
            "priority": priority, "assignment_group": null,
            "event_id": uuid::Uuid::new_v4().simple().to_string()
        })
        .to_string();
        self.invoke_trigger(&self.signed_event(&body, "application/json"))
            .await
    }

    /// A function-URL event (payload format 2.0) as Lambda delivers it.
    pub fn url_event(&self, method: &str, body: &str, headers: &[(&str, String)]) -> Value {
        let mut h = serde_json::Map::new();
        h.insert("host".into(), json!("abcdefgh.lambda-url.us-east-1.on.aws"));
        h.insert("user-agent".into(), json!("ServiceNow/1.0"));
        h.insert("x-forwarded-proto".into(), json!("https"));
        for (k, v) in headers {
            h.insert(k.to_ascii_lowercase(), json!(v));
        }
        json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": "/",
            "rawQueryString": "",
            "headers": h,
            "requestContext": {
                "accountId": "anonymous",
                "apiId": "abcdefgh",
                "domainName": "abcdefgh.lambda-url.us-east-1.on.aws",
                "domainPrefix": "abcdefgh",
                "http": {"method": method, "path": "/", "protocol": "HTTP/1.1", "sourceIp": "198.51.100.7", "userAgent": "ServiceNow/1.0"},
                "requestId": uuid::Uuid::new_v4().to_string(),
                "routeKey": "$default",
                "stage": "$default",
                "time": "21/Nov/2026:10:00:00 +0000",
                "timeEpoch": 1_795_255_200_000u64
            },
            "body": body,
            "isBase64Encoded": false
        })
    }

    /// A POST signed with the shared key, timestamp now.
    pub fn signed_event(&self, body: &str, content_type: &str) -> Value {
        let ts = (now_ms() / 1000).to_string();
        let sig = self.key.sign(&ts, body.as_bytes());
        self.url_event(
            "POST",
            body,
            &[
                ("content-type", content_type.to_string()),
                ("x-signature-timestamp", ts),
                ("x-signature", sig),
            ],
        )
    }

    /// Run the incident-trigger handler on a function-URL event; returns status and JSON.
    pub async fn invoke_trigger(&self, event: &Value) -> (u16, Value) {
        let req = lambda_http::request::from_str(&event.to_string()).expect("function URL event");
        let resp = self.trigger.handle(req).await.expect("handler never errs");
        let status = resp.status().as_u16();
        let body: &[u8] = resp.body().as_ref();
        (status, serde_json::from_slice(body).unwrap_or(Value::Null))
    }

    /// Run flow-events on a Kinesis event; returns the response JSON.
    pub async fn invoke_flow_events(&self, event: Value) -> Value {
        let resp = self
            .flow_events
            .handle(LambdaEvent::new(event, Context::default()))
            .await
            .expect("flow-events");
        serde_json::to_value(resp).unwrap()
    }

    /// Run incident-updater on an SQS event; returns the response JSON.
    pub async fn invoke_updater(&self, event: Value) -> Value {
        let ev: SqsEvent = serde_json::from_value(event).expect("SQS event");
        let resp = self
            .updater
            .handle(LambdaEvent::new(ev, Context::default()))
            .await
            .expect("updater");
        serde_json::to_value(resp).unwrap()
    }

    /// One Kinesis batch through flow-events, as the event source mapping would.
    pub async fn pump_kinesis(&self) -> Option<(Value, Value)> {
        let mut k = self.kinesis.lock().await;
        let batch = k.next_batch().await?;
        let resp = self.invoke_flow_events(batch.clone()).await;
        k.ack(&batch, &resp);
        Some((batch, resp))
    }

    /// One Kinesis batch delivered the way a bad day delivers it: every record `copies`
    /// times, in a shuffled order, cut into batches of random sizes that run as concurrent
    /// invocations (so copies of one event meet in different invocations at once, not only
    /// within one). Seeded, so a failure can be replayed. The answer merges every
    /// invocation's `batchItemFailures`.
    pub async fn pump_kinesis_chaos(&self, copies: usize, seed: u64) -> Option<(Value, Value)> {
        let mut k = self.kinesis.lock().await;
        let batch = k.next_batch().await?;
        let mut records: Vec<Value> = batch["Records"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|r| std::iter::repeat_n(r.clone(), copies))
            .collect();
        let mut rng = fastrand::Rng::with_seed(seed);
        rng.shuffle(&mut records);
        let mut chunks = Vec::new();
        while !records.is_empty() {
            let n = rng.usize(1..=records.len());
            chunks.push(records.drain(..n).collect::<Vec<_>>());
        }
        let answers = futures::future::join_all(
            chunks
                .into_iter()
                .map(|c| self.invoke_flow_events(json!({ "Records": c }))),
        )
        .await;
        let mut failures: Vec<Value> = Vec::new();
        for a in answers {
            for f in a["batchItemFailures"].as_array().into_iter().flatten() {
                if !failures.contains(f) {
                    failures.push(f.clone());
                }
            }
        }
        let resp = json!({ "batchItemFailures": failures });
        k.ack(&batch, &resp);
        Some((batch, resp))
    }

    /// The sweeper's real entry point with a scheduled event (EventBridge shape).
    pub async fn invoke_sweeper(&self) -> Value {
        let event = json!({
            "version": "0", "id": uuid::Uuid::new_v4().to_string(),
            "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": "2026-11-21T10:00:00Z", "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/escalation-sweeper"], "detail": {}
        });
        let report = self
            .sweeper
            .handle(LambdaEvent::new(event, Context::default()))
            .await
            .expect("sweeper");
        serde_json::to_value(report).unwrap()
    }

    /// Every record currently in the stream, without handling them (for tests that
    /// redeliver, duplicate or reorder records themselves).
    pub async fn take_kinesis_records(&self) -> Vec<Value> {
        let mut k = self.kinesis.lock().await;
        let mut all = Vec::new();
        while let Some(batch) = k.next_batch().await {
            let records = batch["Records"].as_array().cloned().unwrap_or_default();
            k.ack(&batch, &json!({"batchItemFailures": []}));
            all.extend(records);
        }
        all
    }

    /// One SQS batch through incident-updater.
    pub async fn pump_sqs(&self) -> Option<(Value, Value)> {
        let batch = self.sqs.next_batch().await?;
        let resp = self.invoke_updater(batch.clone()).await;
        self.sqs.ack(&batch, &resp).await;
        Some((batch, resp))
    }

    pub async fn escalation(&self, sys_id: &str) -> Option<Stored> {
        let sys_id = SysId::parse(sys_id).expect("a sys_id");
        self.parts.repo.load(&sys_id).await.expect("load")
    }

    /// Drive both event sources until every listed incident's escalation is terminal and
    /// the update queue is drained. Panics with the state on timeout.
    pub async fn settle(&self, sys_ids: &[&str], timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let k = self.pump_kinesis().await.is_some();
            let s = self.pump_sqs().await.is_some();
            if !k && !s {
                let mut all_done = true;
                for id in sys_ids {
                    let done = self
                        .escalation(id)
                        .await
                        .is_some_and(|e| e.escalation.status().is_terminal());
                    all_done &= done;
                }
                if all_done && self.sqs.depth().await == 0 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if Instant::now() > deadline {
                let states: Vec<_> = futures_states(self, sys_ids).await;
                panic!("stack did not settle in {timeout:?}: {states:#?}");
            }
        }
    }

    /// Base64 of a record's data, decoded to JSON (for assertions on Kinesis records).
    pub fn record_event(record: &Value) -> Value {
        let data = record["kinesis"]["data"].as_str().unwrap_or_default();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    }
}

async fn futures_states(stack: &Stack, sys_ids: &[&str]) -> Vec<Value> {
    let mut out = Vec::new();
    for id in sys_ids {
        out.push(
            stack
                .escalation(id)
                .await
                .map(|s| {
                    escalation_adapters::aws::doc::to_json(&s.escalation)
                        .ok()
                        .and_then(|d| serde_json::from_str(&d).ok())
                        .unwrap_or(Value::Null)
                })
                .unwrap_or(Value::Null),
        );
    }
    out
}
