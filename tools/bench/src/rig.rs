//! The shared test rig: moto resources, fakes, function environment, signed requests.
//! Built from `escalation_devtools::fixture` and `escalation_devtools::kit`, so the binaries
//! and the in-process handlers see exactly what the local stack gives them.

use escalation_adapters::retry::RetryPolicy;
use escalation_adapters::signing::SigningKey;
use escalation_devtools::aws::{Resources, create_resources, sdk_config};
use escalation_devtools::fixture::{
    self, HMAC_KEY_B64, SN_PASSWORD, SN_USER, TempDir, secret_json,
};
use escalation_devtools::kit;
use escalation_fakes::servicenow::{ServiceNowFake, ServiceNowHandle};
use escalation_fakes::twilio::{AgentStep, EventSink, TwilioHandle};
use escalation_lambda::config::EngineConfig;
use escalation_lambda::handlers::{FlowEvents, Trigger};
use escalation_lambda::wiring::{Aws, EngineParts};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The functions that move escalations, built as the Lambda `boot` builds them.
pub struct Functions {
    pub parts: EngineParts,
    pub trigger: Trigger,
    pub flow_events: FlowEvents,
    /// Every AWS request these functions send.
    pub calls: crate::count::Calls,
}

pub struct Rig {
    pub endpoint: String,
    /// Set to stop the queue consumer (see [`Rig::start`]).
    pub stop_consumer: Arc<AtomicBool>,
    pub sdk: aws_config::SdkConfig,
    pub resources: Resources,
    pub sn: ServiceNowHandle,
    pub key: SigningKey,
    pub dir: PathBuf,
    _dir: TempDir,
}

impl Rig {
    pub async fn start(endpoint: &str) -> Rig {
        let sdk = sdk_config(endpoint).await;
        let prefix = format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let resources = create_resources(&sdk, &prefix, &secret_json()).await;
        let sn = ServiceNowFake::start(SN_USER, SN_PASSWORD).await;
        let temp = TempDir::create(&prefix).expect("temp dir");
        let stop_consumer = Arc::new(AtomicBool::new(false));
        tokio::spawn(consume(
            aws_sdk_sqs::Client::new(&sdk),
            resources.queue_url.clone(),
            stop_consumer.clone(),
        ));
        Rig {
            endpoint: endpoint.to_string(),
            stop_consumer,
            sdk,
            resources,
            sn,
            key: SigningKey::from_base64(HMAC_KEY_B64).expect("key"),
            dir: temp.path.clone(),
            _dir: temp,
        }
    }

    /// The functions' environment (as `template.yaml` gives it), pointed at moto and the fakes.
    pub fn env(&self, studio_base_url: &str, extra: &[(&str, String)]) -> HashMap<String, String> {
        let mut env: HashMap<String, String> =
            fixture::function_env(&self.resources, &self.sn.base_url(), studio_base_url)
                .into_iter()
                .collect();
        for (k, v) in extra {
            env.insert(k.to_string(), v.clone());
        }
        env
    }

    /// Write a roster file whose first agent is `first` (plus two more people, like the
    /// bundled roster) and return its path.
    pub fn roster_file(&self, name: &str, first: &str) -> PathBuf {
        let path = self.dir.join(format!("{name}.json"));
        std::fs::write(&path, small_roster(first)).expect("write roster");
        path
    }

    /// Build the functions the way the Lambda `boot` does (secret from Secrets Manager),
    /// with the production retry policy. Call it on the runtime that will use it: its HTTP
    /// clients keep their connections on that runtime.
    pub async fn functions(&self, env: &HashMap<String, String>) -> Functions {
        functions(&self.endpoint, env).await
    }

    /// Wait (up to 2 min) until the consumer has emptied the update queue.
    pub async fn settle_queue(&self) {
        let sqs = aws_sdk_sqs::Client::new(&self.sdk);
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(120)
            && escalation_devtools::esm::queue_depth(&sqs, &self.resources.queue_url).await > 0
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A function-URL event from the business rule, signed now.
    pub fn trigger_event(&self, sys_id: &str, number: &str) -> Value {
        let body = json!({
            "sys_id": sys_id, "number": number, "short_description": "Database cluster down",
            "priority": "1", "assignment_group": null,
        })
        .to_string();
        kit::signed_trigger(&self.key, kit::TRIGGER_URL, &body, "application/json").event()
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.stop_consumer.store(true, Ordering::Relaxed);
    }
}

/// Receives and deletes the ServiceNow updates the functions queue, standing in for
/// incident-updater outside the storm. Needed for honest numbers: moto's FIFO
/// SendMessage gets slower with every message left in the queue (about 9 ms at depth 0,
/// 80 ms at 550, 140 ms at 1,000 on this machine), which a real queue does not.
async fn consume(sqs: aws_sdk_sqs::Client, url: String, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        let got = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .send()
            .await
            .map(|o| o.messages.unwrap_or_default())
            .unwrap_or_default();
        if got.is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        let mut batch = sqs.delete_message_batch().queue_url(&url);
        for (i, m) in got.iter().enumerate() {
            batch = batch.entries(
                aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .build()
                    .expect("delete entry"),
            );
        }
        let _ = batch.send().await;
    }
}

/// A Twilio fake for the bench: our credentials and flow, no events onto Kinesis.
pub async fn twilio_fake(rate_limit_per_sec: u32, auto_end: bool) -> TwilioHandle {
    fixture::twilio_fake(EventSink::None, rate_limit_per_sec, auto_end).await
}

pub fn press_1(after_ms: u64) -> Vec<AgentStep> {
    vec![AgentStep::Press {
        digit: "1".into(),
        after_ms,
    }]
}

/// `+1555030NNNN`: lane agents, distinct from every roster the tests use.
pub fn lane_phone(lane: usize) -> String {
    format!("+1555030{lane:04}")
}

pub fn small_roster(first: &str) -> String {
    json!({
        "agent_list": [
            {"name": "Lane Agent", "phone_no": first, "role": "primary", "index": 0, "sn_user": "lane.agent"},
            {"name": "Backup Agent", "phone_no": "+15550399001", "role": "secondary", "index": 1}
        ],
        "escalation_list": [
            {"name": "Duty Manager", "phone_no": "+15550399002", "role": "manager", "index": 0}
        ]
    })
    .to_string()
}

/// A random incident sys_id (32 hex).
pub fn sys_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// [`Rig::functions`] for a moto endpoint and an environment.
pub async fn functions(endpoint: &str, env: &HashMap<String, String>) -> Functions {
    let config = EngineConfig::from_map(env).expect("bench config");
    let (sdk, calls) = crate::count::counting(&sdk_config(endpoint).await);
    let aws = Aws::load(sdk, &config.secrets_arn, RetryPolicy::default())
        .await
        .expect("secret");
    let parts = EngineParts::build(&config, &aws).expect("engine");
    let concurrency = escalation_lambda::config::flow_events_concurrency(env).expect("concurrency");
    Functions {
        trigger: parts
            .trigger(
                &aws,
                &escalation_lambda::config::dial_queue_url(env).expect("dial queue"),
            )
            .expect("trigger"),
        flow_events: parts.flow_events(&config.flow_sid, concurrency),
        parts,
        calls,
    }
}
