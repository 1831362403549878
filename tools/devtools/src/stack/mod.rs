//! A whole escalation stack in one process for tests: moto (Kinesis, DynamoDB, SQS,
//! Secrets Manager), the ServiceNow and Twilio fakes, and the real Lambda handlers driven
//! by the event-source stand-ins.

use crate::aws::{Resources, create_resources, moto_endpoint, sdk_config};
use crate::esm::{KinesisPoller, SqsPoller};
use crate::fixture::{self, TempDir};
use crate::kit;
use aws_lambda_events::event::sqs::SqsEvent;
use base64::Engine as _;
use escalation_adapters::clock::now_ms;
use escalation_adapters::retry::RetryPolicy;
use escalation_adapters::signing::SigningKey;
use escalation_core::model::{Roster, SysId};
use escalation_core::ports::{Clock, EscalationRepo, Stored};
use escalation_core::usecase::{Engine, SweepReport};
use escalation_fakes::servicenow::ServiceNowHandle;
use escalation_fakes::twilio::TwilioHandle;
use escalation_lambda::config::{EngineConfig, UpdaterConfig};
use escalation_lambda::handlers::{EscalationDialer, FlowEvents, Sweeper, Trigger, Updater};
use escalation_lambda::wiring::{self, Aws, EngineParts};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

mod dials;

pub use crate::fixture::{
    ACCOUNT_SID, ALICE, API_KEY_SECRET, API_KEY_SID, BOB, CAROL, FLOW_SID, FROM_NUMBER,
    HMAC_KEY_B64, SN_PASSWORD, SN_USER, TEST_ROSTER, oauth_secret_json, secret_json, user_sys_id,
};

pub struct StackOptions {
    /// The `ROSTER_PATH` file; empty: none (the stored policies only).
    pub roster_json: String,
    /// Extra environment for the functions (MAX_REDIALS, ROUNDS, ...).
    pub env: Vec<(&'static str, String)>,
    /// Whether simulated agents end their calls by themselves.
    pub auto_end: bool,
    /// Where the engine counts lineup fallbacks (default: EMF on stdout, as deployed).
    pub metrics: Option<Arc<dyn escalation_core::ports::Metrics>>,
}

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            roster_json: TEST_ROSTER.to_string(),
            env: Vec::new(),
            auto_end: true,
            metrics: None,
        }
    }
}

/// The system clock, optionally moved ahead: what the engine would see at a later time.
#[derive(Debug, Default)]
pub struct AheadClock(AtomicU64);

impl AheadClock {
    /// From now on the clock reads `ms` ahead of the system clock (0: the system's).
    pub fn set_ahead(&self, ms: u64) {
        self.0.store(ms, Ordering::SeqCst);
    }
}

impl Clock for AheadClock {
    fn now_ms(&self) -> u64 {
        now_ms() + self.0.load(Ordering::SeqCst)
    }
}

pub struct Stack {
    /// The engine's adapters (on moto and the fakes), to build variants of the functions.
    pub parts: EngineParts,
    /// The functions' configuration (for [`Stack::container`]).
    pub config: EngineConfig,
    /// The engine the functions share (as one container would).
    pub engine: Engine,
    pub trigger: Trigger,
    pub dialer: EscalationDialer,
    pub flow_events: FlowEvents,
    pub updater: Updater,
    pub sweeper: Sweeper,
    /// The SDK configuration, the secret and the HTTP client the functions were built from.
    pub aws: Aws,
    /// The engine's clock: the system's, moved ahead by [`Stack::sweep_ahead`].
    pub clock: Arc<AheadClock>,
    pub sn: ServiceNowHandle,
    pub twilio: TwilioHandle,
    pub resources: Resources,
    pub sdk: aws_config::SdkConfig,
    pub key: SigningKey,
    kinesis: Mutex<KinesisPoller>,
    sqs: SqsPoller,
    dials: SqsPoller,
    _roster_dir: TempDir,
}

impl Stack {
    pub async fn start(opts: StackOptions) -> Stack {
        Stack::start_with_secret(opts, &secret_json()).await
    }

    /// A stack whose functions read `secret` (Secrets Manager JSON) instead of
    /// [`secret_json`].
    pub async fn start_with_secret(opts: StackOptions, secret: &str) -> Stack {
        let sdk = sdk_config(&moto_endpoint()).await;
        let prefix = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let resources = create_resources(&sdk, &prefix, secret).await;

        // An empty roster_json: no ROSTER_PATH (stored policies only).
        let roster = if opts.roster_json.is_empty() {
            Roster {
                agents: Vec::new(),
                escalation: Vec::new(),
                source: None,
            }
        } else {
            escalation_adapters::roster_file::from_text("roster", &opts.roster_json, true)
                .expect("test roster")
                .roster
        };
        let sn = fixture::servicenow_fake(&roster).await;
        let twilio =
            fixture::twilio_fake(fixture::kinesis_sink(&sdk, &resources), 20, opts.auto_end).await;

        let dir = TempDir::create(&prefix).expect("roster directory");
        let roster_path = dir.path.join("agent_list.json");
        std::fs::write(&roster_path, &opts.roster_json).unwrap();

        let mut env: HashMap<String, String> =
            fixture::function_env(&resources, &sn.base_url(), &twilio.base_url())
                .into_iter()
                .collect();
        if !opts.roster_json.is_empty() {
            env.insert("ROSTER_PATH".into(), roster_path.display().to_string());
        }
        for (k, v) in opts.env {
            env.insert(k.to_string(), v);
        }
        let config = EngineConfig::from_map(&env).expect("stack config");
        let aws = Aws::load(sdk.clone(), &config.secrets_arn, RetryPolicy::fast())
            .await
            .expect("secret");
        let clock = Arc::new(AheadClock::default());
        let mut parts = match opts.metrics {
            Some(m) => EngineParts::build_counting(&config, &aws, m),
            None => EngineParts::build(&config, &aws),
        }
        .expect("engine");
        parts.clock = clock.clone();
        let concurrency =
            escalation_lambda::config::flow_events_concurrency(&env).expect("concurrency");
        let updater = wiring::updater(
            &UpdaterConfig::from_map(&env).expect("updater config"),
            &aws,
        )
        .expect("updater");
        let (kinesis, sqs) = crate::esm::event_sources(&sdk, &resources).await;
        let dials = SqsPoller::new(aws_sdk_sqs::Client::new(&sdk), &resources.dial_queue_url).await;
        Stack {
            config,
            clock,
            engine: parts.engine(),
            trigger: parts
                .trigger(&aws, &resources.dial_queue_url)
                .expect("trigger"),
            dialer: parts.dialer(),
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
            dials,
            _roster_dir: dir,
        }
    }

    /// Seed the incident in the ServiceNow fake, send the business rule's signed request,
    /// and let the dialer take what the trigger queued (as the dial queue's mapping would
    /// at once).
    pub async fn trigger(
        &self,
        sys_id: &str,
        number: &str,
        short_description: &str,
        priority: &str,
    ) -> (u16, Value) {
        self.trigger_group(sys_id, number, short_description, priority, None)
            .await
    }

    /// [`Stack::trigger`] for an incident of the assignment group named `group`.
    pub async fn trigger_group(
        &self,
        sys_id: &str,
        number: &str,
        short_description: &str,
        priority: &str,
        group: Option<&str>,
    ) -> (u16, Value) {
        self.sn
            .add_incident(sys_id, number, short_description, priority);
        let body = json!({
            "sys_id": sys_id, "number": number, "short_description": short_description,
            "priority": priority, "assignment_group": null, "assignment_group_name": group,
            "event_id": uuid::Uuid::new_v4().simple().to_string()
        })
        .to_string();
        let answer = self
            .invoke_trigger(&self.signed_event(&body, "application/json"))
            .await;
        self.drain_dials().await;
        answer
    }

    /// `user` saves the incident in ServiceNow's UI with `fields`; when the instance's
    /// cancel rule acts on the change, its signed request reaches the trigger. Returns the
    /// trigger's answer (None: the rule sent nothing).
    pub async fn change_in_servicenow(
        &self,
        sys_id: &str,
        fields: Value,
        user: &str,
    ) -> Option<(u16, Value)> {
        let body = self.sn.change_from_ui(sys_id, &fields, user)?;
        Some(
            self.invoke_trigger(&self.signed_event(&body.to_string(), "application/json"))
                .await,
        )
    }

    /// A function-URL event (payload format 2.0) of the business rule calling the trigger
    /// with `headers` (none signs it).
    pub fn url_event(&self, method: &str, body: &str, headers: &[(&str, String)]) -> Value {
        kit::Request::new(kit::SERVICENOW, method, kit::TRIGGER_URL)
            .with_headers(headers)
            .with_body(body)
            .event()
    }

    /// A POST signed with the shared key, timestamp now.
    pub fn signed_event(&self, body: &str, content_type: &str) -> Value {
        kit::signed_trigger(&self.key, kit::TRIGGER_URL, body, content_type).event()
    }

    /// The stored policies of this stack's table (what `escalation-admin policy` edits).
    pub fn policy_store(&self) -> escalation_adapters::aws::PolicyStore {
        escalation_adapters::aws::PolicyStore::new(
            aws_sdk_dynamodb::Client::new(&self.sdk),
            &self.resources.table,
        )
    }

    /// Import a policy document as `escalation-admin policy import` does.
    pub async fn import_policies(&self, document: &Value) -> Result<u64, String> {
        self.policy_store()
            .import_checked(&document.to_string(), now_ms(), false)
            .await
    }

    /// The adapters of another container of the same functions: its own clients (and so
    /// its own connections and its own view of the shared create rate), the same clock.
    pub fn container(&self) -> EngineParts {
        let mut parts = EngineParts::build(&self.config, &self.aws).expect("engine");
        parts.clock = self.clock.clone();
        parts
    }

    /// Run the incident-trigger handler on a function-URL event; returns status and JSON.
    pub async fn invoke_trigger(&self, event: &Value) -> (u16, Value) {
        self.invoke_trigger_on(&self.trigger, event).await
    }

    /// [`Stack::invoke_trigger`] on another container's trigger.
    pub async fn invoke_trigger_on(&self, trigger: &Trigger, event: &Value) -> (u16, Value) {
        let req = lambda_http::request::from_str(&event.to_string()).expect("function URL event");
        let resp = trigger.handle(req).await.expect("handler never errs");
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
    /// The sweeper as it would run `ms` from now (the engine's clock is that far ahead for
    /// the sweep, then back).
    pub async fn sweep_ahead(&self, ms: u64) -> SweepReport {
        self.clock.set_ahead(ms);
        let report = self.engine.sweep().await;
        self.clock.set_ahead(0);
        report.expect("sweep")
    }

    pub async fn invoke_sweeper(&self) -> Value {
        let event = kit::scheduled_event();
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
            let d = self.drain_dials().await > 0;
            let k = self.pump_kinesis().await.is_some();
            let s = self.pump_sqs().await.is_some();
            if !d && !k && !s {
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
