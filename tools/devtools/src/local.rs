//! The local stack with the real Lambda binaries: `cargo lambda watch` (the Lambda runtime
//! emulator) runs incident-trigger, flow-events, incident-updater, escalation-sweeper and
//! voice-inbound against moto server and the ServiceNow and Twilio fakes (served from this
//! process). Pollers stand in for the Kinesis and SQS event source mappings and invoke the
//! functions through the emulator's Invoke API; the trigger is called through its
//! function URL, signed like the ServiceNow business rule, and voice-inbound through its
//! function URL, signed like Twilio's webhooks.
//!
//! `cargo lambda watch` runs in its own process group; the functions it starts run in
//! sessions of their own. [`LocalStack::stop`] (and dropping the stack) asks it to stop,
//! then kills whatever of that process tree is left, so nothing outlives the stack.

use crate::aws::{Resources, create_resources, sdk_config};
use crate::esm::{KinesisPoller, SqsPoller};
use crate::inbound_support::{AUTH_TOKEN, Reply};
use crate::play::Driver;
use crate::stack::{
    ACCOUNT_SID, API_KEY_SECRET, API_KEY_SID, FLOW_SID, FROM_NUMBER, HMAC_KEY_B64, SN_PASSWORD,
    SN_USER, TEST_ROSTER, secret_json, user_sys_id,
};
use crate::timeline::Timeline;
use escalation_adapters::aws::DynamoRepo;
use escalation_adapters::signing::{SIGNATURE_HEADER, SigningKey, TIMESTAMP_HEADER};
use escalation_core::escalation::Escalation;
use escalation_core::model::SysId;
use escalation_core::ports::EscalationRepo;
use escalation_fakes::servicenow::{ServiceNowFake, ServiceNowHandle};
use escalation_fakes::twilio::{EventSink, TwilioFake, TwilioFakeConfig, TwilioHandle};
use serde_json::{Value, json};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const TRIGGER: &str = "incident-trigger";
pub const FLOW_EVENTS: &str = "flow-events";
pub const UPDATER: &str = "incident-updater";
pub const SWEEPER: &str = "escalation-sweeper";
pub const VOICE_INBOUND: &str = "voice-inbound";
/// The Lambda binaries the local stack runs (each is its own package under functions/).
pub const FUNCTIONS: [&str; 5] = [TRIGGER, FLOW_EVENTS, UPDATER, SWEEPER, VOICE_INBOUND];

/// How to get cargo-lambda, for error messages.
pub const INSTALL_HINT: &str = "install it into the project venv and put that first on PATH:
    python3 -m venv .venv && .venv/bin/pip install 'cargo-lambda>=1.9.2,<2'
    export PATH=\"$PWD/.venv/bin:$PATH\"
(scripts/lib.sh has ensure_cargo_lambda for this; scripts/demo.sh runs it)";

/// Longest wait for one invocation during a scenario.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(120);
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

/// The workspace the functions are built from.
pub fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// `cargo-lambda` on PATH, or an error that says how to install it.
pub fn find_cargo_lambda() -> Result<PathBuf, String> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("cargo-lambda"))
        .find(|p| p.is_file())
        .ok_or_else(|| format!("cargo-lambda is not on PATH: {INSTALL_HINT}"))
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
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
    dir: RunDir,
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
        let sn = ServiceNowFake::start(SN_USER, SN_PASSWORD).await;
        let roster = escalation_core::model::Roster::from_json(&opts.roster_json)
            .map_err(|e| format!("roster: {e}"))?;
        for p in roster.agents.iter().chain(&roster.escalation) {
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
            auto_end: true,
        })
        .await;
        tl.stack(&format!(
            "moto {moto} (stream, table, FIFO queue, secret), ServiceNow fake {}, Twilio fake {}",
            sn.base_url(),
            twilio.base_url()
        ));

        let dir = RunDir::create(&prefix)?;
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
        let mut env: Vec<(String, String)> = [
            ("TWILIO_FLOW_SID", FLOW_SID.to_string()),
            ("TWILIO_FROM_NUMBER", FROM_NUMBER.to_string()),
            ("ESCALATIONS_TABLE", resources.table.clone()),
            ("SN_UPDATES_QUEUE_URL", resources.queue_url.clone()),
            ("SECRETS_ARN", resources.secret_arn.clone()),
            ("SERVICENOW_INSTANCE_URL", sn.base_url()),
            ("TWILIO_STUDIO_BASE_URL", twilio.base_url()),
            ("ROSTER_PATH", roster_path.display().to_string()),
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
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
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
        let kinesis = KinesisPoller::new(
            aws_sdk_kinesis::Client::new(&sdk),
            &resources.stream_name,
            &resources.stream_arn,
        )
        .await;
        let sqs = SqsPoller::new(aws_sdk_sqs::Client::new(&sdk), &resources.queue_url).await;
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
        let (a, b, c, d, e) = results;
        let mut ready = Vec::new();
        for r in [a, b, c, d, e] {
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
                scheduled_event()
            } else {
                json!({"Records": []})
            };
            self.invoke_with(function, &payload, FIRST_INVOKE_TIMEOUT)
                .await?;
        }
        Ok((function, started.elapsed().as_secs_f64()))
    }

    fn url_of(&self, function: &str) -> String {
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
    async fn watched(
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
        let ts = (escalation_adapters::clock::now_ms() / 1000).to_string();
        let signature = self.key.sign(&ts, body.as_bytes());
        let call = self
            .http
            .post(self.url_of(TRIGGER))
            .header("content-type", "application/json")
            .header(TIMESTAMP_HEADER, ts)
            .header(SIGNATURE_HEADER, signature)
            .body(body.to_string())
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

impl Driver for LocalStack {
    fn mode(&self) -> &'static str {
        "real Lambda binaries under cargo lambda watch"
    }

    fn sn(&self) -> &ServiceNowHandle {
        &self.sn
    }

    fn twilio(&self) -> &TwilioHandle {
        &self.twilio
    }

    async fn trigger(
        &self,
        sys_id: &str,
        number: &str,
        short_description: &str,
        priority: &str,
    ) -> Result<(u16, Value), String> {
        let body = json!({
            "sys_id": sys_id, "number": number, "short_description": short_description,
            "priority": priority, "assignment_group": null
        });
        self.post_trigger(&body.to_string()).await
    }

    async fn pump(&self) -> Result<bool, String> {
        let k = self.pump_kinesis().await?;
        let s = self.pump_sqs().await?;
        Ok(k || s)
    }

    async fn sweep(&self) -> Result<(), String> {
        self.invoke(SWEEPER, &scheduled_event()).await.map(|_| ())
    }

    async fn escalation(&self, sys_id: &str) -> Result<Option<Escalation>, String> {
        let sys_id = SysId::parse(sys_id).map_err(|e| e.to_string())?;
        self.store
            .load(&sys_id)
            .await
            .map(|s| s.map(|s| s.escalation))
            .map_err(|e| e.to_string())
    }

    async fn webhook(&self, url: &str, params: &[(&str, &str)]) -> Result<Reply, String> {
        let url = if url.starts_with("http") {
            url.to_string()
        } else {
            format!(
                "{}/{}",
                self.url_of(VOICE_INBOUND).trim_end_matches('/'),
                url.trim_start_matches('/')
            )
        };
        let pairs: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let signature = escalation_inbound::webhook_signature::sign(AUTH_TOKEN, &url, &pairs);
        let call = self
            .http
            .post(&url)
            .header("x-twilio-signature", signature)
            .form(&pairs)
            .timeout(INVOKE_TIMEOUT)
            .send();
        let resp = self.watched(VOICE_INBOUND, call).await?;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = resp.text().await.unwrap_or_default();
        Ok(Reply {
            status,
            content_type,
            body,
        })
    }
}

/// What EventBridge sends on a schedule.
fn scheduled_event() -> Value {
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-21T10:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/escalation-sweeper"],
        "detail": {}
    })
}

/// Builds the functions exactly as `cargo lambda watch` will run them: it runs
/// `cargo run --bin NAME` at the workspace root, which selects every workspace member and
/// unifies dependency features across all of them (not just the function's package). The
/// same selection here means its first invocations find the binaries built instead of
/// compiling the dependency graph a second time with other features.
pub async fn build_functions(root: &Path, show: bool, tl: &mut Timeline) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = tokio::process::Command::new(&cargo);
    cmd.arg("build").current_dir(root).kill_on_drop(true);
    for f in FUNCTIONS {
        cmd.args(["--bin", f]);
    }
    if !show {
        cmd.arg("--quiet");
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::null());
    tl.stack(&format!(
        "building the Lambda functions: cargo build --bin {} (minutes the first time)",
        FUNCTIONS.join(" --bin ")
    ));
    let started = Instant::now();
    let out = cmd
        .stderr(if show {
            Stdio::inherit()
        } else {
            Stdio::piped()
        })
        .spawn()
        .map_err(|e| format!("running {cargo}: {e}"))?
        .wait_with_output()
        .await
        .map_err(|e| format!("running {cargo}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "building the functions failed ({}){}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    tl.stack(&format!(
        "functions built ({:.1} s)",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// A directory for one run (roster, emulator log); removed unless kept.
struct RunDir {
    path: PathBuf,
    keep: bool,
}

impl RunDir {
    fn create(prefix: &str) -> Result<RunDir, String> {
        let path = std::env::temp_dir().join(format!("escalation-local-stack-{prefix}"));
        std::fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(RunDir { path, keep: false })
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// The `cargo lambda watch` process.
struct Watch {
    pid: u32,
    child: Mutex<Option<Child>>,
    log_path: PathBuf,
    /// How far the log has been searched for dead functions.
    scanned: Mutex<u64>,
}

impl Watch {
    fn spawn(
        cargo_lambda: &Path,
        root: &Path,
        port: u16,
        env_file: &Path,
        log_path: &Path,
    ) -> Result<Watch, String> {
        let log =
            std::fs::File::create(log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        let log2 = log.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = Command::new(cargo_lambda);
        cmd.args(["lambda", "watch", "-A", "127.0.0.1", "-P"])
            .arg(port.to_string())
            // Other people's edits must not restart the functions mid-scenario.
            .arg("--ignore-changes")
            .arg("--env-file")
            .arg(env_file)
            .current_dir(root)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            // Its own process group: a Ctrl-C in the terminal reaches only us, and we stop it.
            cmd.process_group(0);
            #[cfg(target_os = "linux")]
            // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
            unsafe {
                cmd.pre_exec(|| {
                    // If we die without cleaning up, cargo-lambda gets a Ctrl-C of its own.
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT);
                    Ok(())
                });
            }
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("starting {}: {e}", cargo_lambda.display()))?;
        Ok(Watch {
            pid: child.id(),
            child: Mutex::new(Some(child)),
            log_path: log_path.to_path_buf(),
            scanned: Mutex::new(0),
        })
    }

    /// An error if cargo-lambda has exited or one of its functions has died (it would not
    /// be restarted, and invocations would wait forever).
    fn check(&self) -> Result<(), String> {
        if let Some(child) = lock(&self.child).as_mut()
            && let Ok(Some(status)) = child.try_wait()
        {
            return Err(self.explain(&format!("cargo lambda watch exited ({status})")));
        }
        let mut scanned = lock(&self.scanned);
        let mut new = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log_path)
            && f.seek(SeekFrom::Start(*scanned)).is_ok()
        {
            let _ = f.read_to_string(&mut new);
        }
        // Only whole lines count; a half-written one is read again next time.
        let complete = new.rfind('\n').map_or(0, |i| i + 1);
        *scanned += complete as u64;
        let dead = new[..complete].lines().any(|l| {
            l.contains("command exited")
                || l.contains("command killed")
                || l.contains("failed to obtain the watchexec task")
        });
        drop(scanned);
        if dead {
            return Err(self.explain("a function process exited"));
        }
        Ok(())
    }

    /// `what`, followed by the end of the emulator's log.
    fn explain(&self, what: &str) -> String {
        format!(
            "{what}\n--- last lines of {} ---\n{}",
            self.log_path.display(),
            self.tail(30)
        )
    }

    fn tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// cargo-lambda and its live descendants.
    fn tree(&self) -> Vec<u32> {
        let mut pids = vec![self.pid];
        pids.extend(proc::descendants(self.pid));
        pids.retain(|p| proc::alive(*p));
        pids
    }

    /// Ctrl-C to the watch's process group (cargo-lambda then stops its functions), then
    /// SIGKILL for anything of the tree still there after a grace period.
    fn stop(&mut self) -> Vec<u32> {
        let Some(mut child) = lock(&self.child).take() else {
            return Vec::new();
        };
        let tree: Vec<(u32, Option<u64>)> = std::iter::once(self.pid)
            .chain(proc::descendants(self.pid))
            .map(|p| (p, proc::start_time(p)))
            .collect();
        proc::signal_group(self.pid, proc::Signal::Interrupt);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && !matches!(child.try_wait(), Ok(Some(_))) {
            std::thread::sleep(Duration::from_millis(50));
        }
        proc::signal_group(self.pid, proc::Signal::Kill);
        let _ = child.kill();
        let _ = child.wait();
        // The functions run in sessions of their own: make sure none is left.
        let deadline = Instant::now() + Duration::from_secs(5);
        for (pid, start) in &tree[1..] {
            let still_there =
                || start.is_some() && proc::start_time(*pid) == *start && proc::alive(*pid);
            while still_there() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            if still_there() {
                proc::kill(*pid);
            }
        }
        tree.into_iter().map(|(p, _)| p).collect()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Process-table helpers (Linux `/proc`; elsewhere only the process group is signalled).
pub mod proc {
    #[derive(Clone, Copy)]
    pub enum Signal {
        Interrupt,
        Kill,
    }

    /// Signals every process in the group led by `pgid`.
    pub fn signal_group(pgid: u32, sig: Signal) {
        #[cfg(unix)]
        {
            let sig = match sig {
                Signal::Interrupt => libc::SIGINT,
                Signal::Kill => libc::SIGKILL,
            };
            // SAFETY: plain syscall; a negative pid addresses the process group.
            unsafe {
                libc::kill(-(pgid as i32), sig);
            }
        }
        #[cfg(not(unix))]
        let _ = (pgid, sig);
    }

    /// SIGKILL to one process.
    pub fn kill(pid: u32) {
        #[cfg(unix)]
        // SAFETY: plain syscall.
        unsafe {
            libc::kill(pid as i32, libc::SIGKILL);
        }
        #[cfg(not(unix))]
        let _ = pid;
    }

    /// `(state, ppid, start time)` from `/proc/PID/stat`.
    fn stat(pid: u32) -> Option<(char, u32, u64)> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name is in parentheses and may contain anything: skip past it.
        let rest = &text[text.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let state = fields.first()?.chars().next()?;
        let ppid = fields.get(1)?.parse().ok()?;
        let start = fields.get(19)?.parse().ok()?;
        Some((state, ppid, start))
    }

    /// Running (not a zombie).
    pub fn alive(pid: u32) -> bool {
        stat(pid).is_some_and(|(state, _, _)| state != 'Z' && state != 'X')
    }

    /// When the process started (ticks since boot), to tell a reused pid apart.
    pub fn start_time(pid: u32) -> Option<u64> {
        stat(pid).map(|(_, _, start)| start)
    }

    /// Every live process below `root`.
    pub fn descendants(root: u32) -> Vec<u32> {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        let parents: Vec<(u32, u32)> = dir
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter_map(|pid| stat(pid).map(|(_, ppid, _)| (pid, ppid)))
            .collect();
        let mut out = Vec::new();
        let mut frontier = vec![root];
        while let Some(p) = frontier.pop() {
            for (pid, ppid) in &parents {
                if *ppid == p && !out.contains(pid) {
                    out.push(*pid);
                    frontier.push(*pid);
                }
            }
        }
        out
    }
}
