//! The local stack with the real Lambda binaries: `cargo lambda watch` (the Lambda runtime
//! emulator) runs incident-trigger, escalation-dialer, flow-events, incident-updater,
//! escalation-sweeper and voice-inbound against moto server and the ServiceNow and Twilio fakes (served from this
//! process). Pollers stand in for the Kinesis and SQS (update and dial queue) event source
//! mappings and invoke the
//! functions through the emulator's Invoke API; the trigger is called through its
//! function URL, signed like the ServiceNow business rule, and voice-inbound through its
//! function URL, signed like Twilio's webhooks.
//!
//! `cargo lambda watch` runs in its own process group; the functions it starts run in
//! sessions of their own. [`LocalStack::stop`] (and dropping the stack) asks it to stop,
//! then kills whatever of that process tree is left, so nothing outlives the stack.
//!
//! `build`: finding cargo-lambda and building the functions; `watch`: the emulator's
//! process and its log; `proc`: the process table; `driver`: the scenario player's view.

mod build;
mod driver;
pub mod proc;
mod watch;

pub use build::{INSTALL_HINT, build_functions, find_cargo_lambda, free_port, workspace_root};

use crate::aws::{Resources, create_resources, sdk_config};
use crate::esm::{KinesisPoller, SqsPoller};
use crate::fixture::{self, HMAC_KEY_B64, TEST_ROSTER, TempDir, secret_json};
use crate::kit;
use crate::timeline::Timeline;
use escalation_adapters::aws::DynamoRepo;
use escalation_adapters::signing::SigningKey;
use escalation_fakes::servicenow::ServiceNowHandle;
use escalation_fakes::twilio::TwilioHandle;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use watch::Watch;

pub const TRIGGER: &str = "incident-trigger";
pub const DIALER: &str = "escalation-dialer";
pub const FLOW_EVENTS: &str = "flow-events";
pub const UPDATER: &str = "incident-updater";
pub const SWEEPER: &str = "escalation-sweeper";
pub const VOICE_INBOUND: &str = "voice-inbound";
/// The Lambda binaries the local stack runs (each is its own package under functions/).
pub const FUNCTIONS: [&str; 6] = [
    TRIGGER,
    DIALER,
    FLOW_EVENTS,
    UPDATER,
    SWEEPER,
    VOICE_INBOUND,
];

/// Longest wait for one invocation during a scenario.
pub(super) const INVOKE_TIMEOUT: Duration = Duration::from_secs(120);
/// Longest wait for a function's first invocation (cargo may still have to compile it).
const FIRST_INVOKE_TIMEOUT: Duration = Duration::from_secs(900);

pub struct LocalOptions {
    pub roster_json: String,
    /// Extra environment for the functions (MAX_REDIALS, ROUNDS, ...).
    pub env: Vec<(String, String)>,
    /// Port of the emulator; a free one if `None`.
    pub port: Option<u16>,
    /// Let cargo print its build progress (stderr).
    pub show_build: bool,
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            roster_json: TEST_ROSTER.to_string(),
            env: Vec::new(),
            port: None,
            show_build: true,
        }
    }
}

pub struct LocalStack {
    pub sn: ServiceNowHandle,
    pub twilio: TwilioHandle,
    pub resources: Resources,
    pub sdk: aws_config::SdkConfig,
    /// `http://127.0.0.1:PORT` of the runtime emulator.
    pub base_url: String,
    key: SigningKey,
    http: reqwest::Client,
    store: DynamoRepo,
    kinesis: tokio::sync::Mutex<KinesisPoller>,
    sqs: SqsPoller,
    dials: SqsPoller,
    dir: TempDir,
    // Declared last: dropped after everything above (the functions' peers).
    watch: Watch,
}

impl LocalStack {
    /// Builds the functions, creates the AWS resources on moto (`MOTO_ENDPOINT`), starts
    /// the fakes and `cargo lambda watch`, and invokes every function once so each is
    /// compiled and initialised before the scenario starts.
    pub async fn start(opts: LocalOptions, tl: &mut Timeline) -> Result<LocalStack, String> {
        let cargo_lambda = find_cargo_lambda()?;
        let moto = std::env::var("MOTO_ENDPOINT").map_err(|_| {
            "MOTO_ENDPOINT is not set: start moto server (`moto_server -H 127.0.0.1 -p 4566`) \
             and set MOTO_ENDPOINT=http://127.0.0.1:4566, or use scripts/demo.sh, which does both"
                .to_string()
        })?;
        let root = workspace_root();
        build_functions(&root, opts.show_build, tl).await?;

        let sdk = sdk_config(&moto).await;
        let prefix = format!("l{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let resources = create_resources(&sdk, &prefix, &secret_json()).await;
        let roster = escalation_adapters::roster_file::from_text("roster", &opts.roster_json, true)
            .map(|f| f.roster)
            .map_err(|e| format!("roster: {e}"))?;
        let sn = fixture::servicenow_fake(&roster).await;
        let twilio = fixture::twilio_fake(fixture::kinesis_sink(&sdk, &resources), 20, true).await;
        tl.stack(&format!(
            "moto {moto} (stream, table, FIFO queue, secret), ServiceNow fake {}, Twilio fake {}",
            sn.base_url(),
            twilio.base_url()
        ));

        let dir = TempDir::create(&format!("local-stack-{prefix}"))?;
        let roster_path = dir.path.join("agent_list.json");
        std::fs::write(&roster_path, &opts.roster_json).map_err(|e| format!("roster: {e}"))?;
        // The escalation line, for the roster above (voice-inbound).
        let inbound_path = dir.path.join("inbound.json");
        std::fs::write(
            &inbound_path,
            crate::inbound_support::test_config().to_string(),
        )
        .map_err(|e| format!("inbound config: {e}"))?;
        let port = opts.port.unwrap_or_else(free_port);
        let base_url = format!("http://127.0.0.1:{port}");
        let mut env = fixture::function_env(&resources, &sn.base_url(), &twilio.base_url());
        env.extend(
            [
                ("ROSTER_PATH", roster_path.display().to_string()),
                // The local stack may call the bundled sample people (fictional numbers).
                ("LOCAL_STACK", "true".to_string()),
                ("INBOUND_CONFIG_PATH", inbound_path.display().to_string()),
                // What voice-inbound signs and hands out to Twilio: its function URL here.
                (
                    "PUBLIC_BASE_URL",
                    format!("{base_url}/lambda-url/{VOICE_INBOUND}"),
                ),
                ("AWS_ENDPOINT_URL", moto.clone()),
                ("AWS_ACCESS_KEY_ID", "test".into()),
                ("AWS_SECRET_ACCESS_KEY", "test".into()),
                ("AWS_REGION", "us-east-1".into()),
                ("AWS_EC2_METADATA_DISABLED", "true".into()),
                (
                    "RUST_LOG",
                    std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
                ),
            ]
            .map(|(k, v)| (k.to_string(), v)),
        );
        env.extend(opts.env);

        // The functions' environment goes in a file (`--env-file`), so cargo-lambda itself
        // runs with its own log level and the file shows what the functions got.
        let env_path = dir.path.join("functions.env");
        let env_text: String = env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        std::fs::write(&env_path, env_text).map_err(|e| format!("{}: {e}", env_path.display()))?;
        let log_path = dir.path.join("cargo-lambda-watch.log");
        let watch = Watch::spawn(&cargo_lambda, &root, port, &env_path, &log_path)?;
        tl.stack(&format!(
            "cargo lambda watch on {base_url} (pid {}, own process group; function logs: {})",
            watch.pid,
            log_path.display()
        ));
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|e| e.to_string())?;
        let (kinesis, sqs) = crate::esm::event_sources(&sdk, &resources).await;
        let dials = SqsPoller::new(aws_sdk_sqs::Client::new(&sdk), &resources.dial_queue_url).await;
        let stack = LocalStack {
            store: DynamoRepo::new(aws_sdk_dynamodb::Client::new(&sdk), &resources.table),
            key: SigningKey::from_base64(HMAC_KEY_B64).map_err(|e| e.to_string())?,
            sn,
            twilio,
            resources,
            sdk,
            base_url,
            http,
            kinesis: tokio::sync::Mutex::new(kinesis),
            sqs,
            dials,
            dir,
            watch,
        };
        let ready = match stack.wait_listening(tl).await {
            Ok(()) => stack.warm_up(tl).await,
            Err(e) => Err(e),
        };
        match ready {
            Ok(()) => Ok(stack),
            Err(e) => {
                let mut stack = stack;
                let log = stack.keep_logs();
                Err(format!("{e}\n(log kept: {})", log.display()))
            }
        }
    }

    /// Waits until the emulator accepts connections.
    async fn wait_listening(&self, tl: &mut Timeline) -> Result<(), String> {
        let started = Instant::now();
        let addr = self.base_url.trim_start_matches("http://").to_string();
        while tokio::net::TcpStream::connect(&addr).await.is_err() {
            self.watch.check()?;
            if started.elapsed() > Duration::from_secs(60) {
                return Err(self
                    .watch
                    .explain("cargo lambda watch did not listen within 60 s"));
            }
            tl.waiting(&format!(
                "{:5.1} s  starting cargo lambda watch",
                started.elapsed().as_secs_f64()
            ));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tl.clear_waiting();
        Ok(())
    }

    /// The first invocation of every function, all at once: the emulator runs
    /// `cargo run --bin NAME` (a no-op build after [`build_functions`]) and the function
    /// boots (configuration, secret). Their start-up waits overlap.
    async fn warm_up(&self, tl: &mut Timeline) -> Result<(), String> {
        let started = Instant::now();
        let all = async {
            tokio::join!(
                self.first_invocation(TRIGGER),
                self.first_invocation(DIALER),
                self.first_invocation(FLOW_EVENTS),
                self.first_invocation(UPDATER),
                self.first_invocation(SWEEPER),
                self.first_invocation(VOICE_INBOUND),
            )
        };
        tokio::pin!(all);
        let results = loop {
            tokio::select! {
                r = &mut all => break r,
                _ = tokio::time::sleep(Duration::from_millis(100)) => {
                    self.watch.check()?;
                    tl.waiting(&format!(
                        "{:5.1} s  starting the {} functions (first invocations)",
                        started.elapsed().as_secs_f64(),
                        FUNCTIONS.len()
                    ));
                }
            }
        };
        tl.clear_waiting();
        let (a, b, c, d, e, f) = results;
        let mut ready = Vec::new();
        for r in [a, b, c, d, e, f] {
            let (name, secs) = r.map_err(|e| self.watch.explain(&e))?;
            ready.push(format!("{name} {secs:.1} s"));
        }
        tl.stack(&format!("functions ready: {}", ready.join(", ")));
        Ok(())
    }

    /// One harmless invocation; returns the function's name and how long it took.
    async fn first_invocation(
        &self,
        function: &'static str,
    ) -> Result<(&'static str, f64), String> {
        let started = Instant::now();
        if function == TRIGGER || function == VOICE_INBOUND {
            // A plain GET touches nothing: the trigger answers 405 (not POST), voice-inbound
            // 403 (not signed by Twilio).
            let expected = if function == TRIGGER { 405 } else { 403 };
            let resp = self
                .http
                .get(self.url_of(function))
                .timeout(FIRST_INVOKE_TIMEOUT)
                .send()
                .await
                .map_err(|e| format!("{function}: {e}"))?;
            let status = resp.status().as_u16();
            if status != expected {
                return Err(format!(
                    "{function} answered {status} to a GET (expected {expected}): {}",
                    resp.text().await.unwrap_or_default()
                ));
            }
        } else {
            let payload = if function == SWEEPER {
                kit::scheduled_event()
            } else {
                json!({"Records": []})
            };
            self.invoke_with(function, &payload, FIRST_INVOKE_TIMEOUT)
                .await?;
        }
        Ok((function, started.elapsed().as_secs_f64()))
    }

    pub(super) fn url_of(&self, function: &str) -> String {
        format!("{}/lambda-url/{function}/", self.base_url)
    }

    /// Invokes a function through the emulator's Invoke API and returns its JSON answer.
    pub async fn invoke(&self, function: &str, payload: &Value) -> Result<Value, String> {
        let call = self.invoke_with(function, payload, INVOKE_TIMEOUT);
        tokio::pin!(call);
        loop {
            tokio::select! {
                r = &mut call => return r.map_err(|e| self.watch.explain(&e)),
                _ = tokio::time::sleep(Duration::from_millis(250)) => self.watch.check()?,
            }
        }
    }

    async fn invoke_with(
        &self,
        function: &str,
        payload: &Value,
        timeout: Duration,
    ) -> Result<Value, String> {
        let resp = self
            .http
            .post(format!(
                "{}/2015-03-31/functions/{function}/invocations",
                self.base_url
            ))
            .json(payload)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| format!("invoking {function}: {e}"))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(format!("{function} failed (HTTP {status}): {text}"));
        }
        serde_json::from_str(&text)
            .map_err(|e| format!("{function} answered non-JSON ({e}): {text}"))
    }

    /// Awaits an HTTP call to `function`, checking meanwhile that cargo-lambda and its
    /// functions are alive (a dead one would never answer).
    pub(super) async fn watched(
        &self,
        function: &str,
        call: impl Future<Output = reqwest::Result<reqwest::Response>>,
    ) -> Result<reqwest::Response, String> {
        tokio::pin!(call);
        loop {
            tokio::select! {
                r = &mut call => return r.map_err(|e| self.watch.explain(&format!("{function}: {e}"))),
                _ = tokio::time::sleep(Duration::from_millis(250)) => self.watch.check()?,
            }
        }
    }

    /// Sends the business rule's request to the trigger's function URL: JSON body, signed
    /// with `X-Signature-Timestamp` and `X-Signature`.
    pub async fn post_trigger(&self, body: &str) -> Result<(u16, Value), String> {
        let call = kit::signed_trigger(&self.key, &self.url_of(TRIGGER), body, "application/json")
            .send(&self.http)
            .timeout(INVOKE_TIMEOUT)
            .send();
        let resp = self.watched(TRIGGER, call).await?;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    /// One Kinesis batch through flow-events, as the event source mapping would.
    pub async fn pump_kinesis(&self) -> Result<bool, String> {
        let mut k = self.kinesis.lock().await;
        let Some(batch) = k.next_batch().await else {
            return Ok(false);
        };
        let resp = self.invoke(FLOW_EVENTS, &batch).await?;
        k.ack(&batch, &resp);
        Ok(true)
    }

    /// One batch of the dial queue through escalation-dialer.
    pub async fn pump_dials(&self) -> Result<bool, String> {
        let Some(batch) = self.dials.next_batch().await else {
            return Ok(false);
        };
        let resp = self.invoke(DIALER, &batch).await?;
        self.dials.ack(&batch, &resp).await;
        Ok(true)
    }

    /// One SQS batch through incident-updater.
    pub async fn pump_sqs(&self) -> Result<bool, String> {
        let Some(batch) = self.sqs.next_batch().await else {
            return Ok(false);
        };
        let resp = self.invoke(UPDATER, &batch).await?;
        self.sqs.ack(&batch, &resp).await;
        Ok(true)
    }

    /// Messages still waiting for incident-updater.
    pub async fn queue_depth(&self) -> u64 {
        self.sqs.depth().await
    }

    /// The cargo-lambda process and everything it started that is still running.
    pub fn processes(&self) -> Vec<u32> {
        self.watch.tree()
    }

    /// Keeps the run directory (roster, function logs) after the stack is gone.
    pub fn keep_logs(&mut self) -> PathBuf {
        self.dir.keep = true;
        self.dir.path.join("cargo-lambda-watch.log")
    }

    /// The last lines the functions and the emulator printed.
    pub fn log_tail(&self, lines: usize) -> String {
        self.watch.tail(lines)
    }

    /// Stops `cargo lambda watch` and every function it started. Returns the process ids
    /// that were running, all of which are gone now.
    pub fn stop(mut self) -> Vec<u32> {
        self.watch.stop()
    }
}
