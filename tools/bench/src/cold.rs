//! Cold start of each Lambda binary under a minimal Lambda Runtime API emulator.
//!
//! The emulator answers `GET /2018-06-01/runtime/invocation/next` once with an event
//! (headers `Lambda-Runtime-Aws-Request-Id`, `Lambda-Runtime-Deadline-Ms`,
//! `Lambda-Runtime-Invoked-Function-Arn`) and records when
//! `POST /2018-06-01/runtime/invocation/{id}/response` (or `/error`, or `init/error`) arrives.
//! The release binary is spawned with `AWS_LAMBDA_RUNTIME_API` pointing at it and the
//! functions' environment; its `boot` fetches the secret from moto, as a real cold start
//! fetches it from Secrets Manager. Measured from just before `spawn` to the response.
//! Then the process is killed and reaped with `wait4`, whose `ru_maxrss` is its peak RSS.

use crate::rig::{Rig, press_1, sys_id, twilio_fake};
use crate::sys::reap_max_rss_kib;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use escalation_core::model::{EscalationId, SysId};
use escalation_core::update::{IncidentState, IncidentUpdate};
use escalation_devtools::fixture::{SAMPLE_ROSTER, user_sys_id};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

pub const BINARIES: [&str; 7] = [
    "incident-trigger",
    "escalation-dialer",
    "call-decision",
    "flow-events",
    "incident-updater",
    "escalation-sweeper",
    "voice-inbound",
];

#[derive(Debug, Clone)]
pub struct ColdRun {
    pub binary: String,
    /// Process start → first `invocation/next` (boot: logging, config, secret fetch).
    pub init: Duration,
    /// Process start → the first invocation's response.
    pub total: Duration,
    pub max_rss_kib: u64,
    /// What the function answered (checked for the expected outcome).
    pub response: Value,
}

#[derive(Debug, Clone)]
pub struct Artifact {
    pub binary: String,
    pub bytes: u64,
    /// Where the number comes from: the arm64 `bootstrap.zip`, or the x86_64 binary.
    pub kind: String,
    /// The x86_64 binary zipped by the bench (`zip -9`), when no arm64 zip exists.
    pub zipped_here: Option<u64>,
}

#[derive(Default)]
struct Emu {
    event: Mutex<Option<(String, Value)>>,
    first_next: Mutex<Option<Instant>>,
    outcome: Mutex<Option<(Instant, String, Value)>>,
    done: Notify,
    stop: Notify,
}

async fn runtime_api(State(emu): State<Arc<Emu>>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let body: Bytes = axum::body::to_bytes(req.into_body(), 6 * 1024 * 1024)
        .await
        .unwrap_or_default();
    const BASE: &str = "/2018-06-01/runtime";
    let Some(rest) = path.strip_prefix(BASE) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let record = |kind: &str| {
        let v: Value = serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()));
        let mut o = emu.outcome.lock().unwrap();
        if o.is_none() {
            *o = Some((Instant::now(), kind.to_string(), v));
        }
        emu.done.notify_one();
        StatusCode::ACCEPTED.into_response()
    };
    match (method, rest) {
        (Method::GET, "/invocation/next") => {
            emu.first_next
                .lock()
                .unwrap()
                .get_or_insert_with(Instant::now);
            let next = emu.event.lock().unwrap().take();
            match next {
                Some((id, event)) => {
                    let deadline = escalation_adapters::clock::now_ms() + 30_000;
                    let mut h = HeaderMap::new();
                    let hv = |s: &str| HeaderValue::from_str(s).expect("header");
                    h.insert("lambda-runtime-aws-request-id", hv(&id));
                    h.insert("lambda-runtime-deadline-ms", hv(&deadline.to_string()));
                    h.insert(
                        "lambda-runtime-invoked-function-arn",
                        hv("arn:aws:lambda:us-east-1:123456789012:function:bench"),
                    );
                    h.insert("content-type", hv("application/json"));
                    (StatusCode::OK, h, event.to_string()).into_response()
                }
                // No second invocation: hold the poll until the run is over.
                None => {
                    let _ =
                        tokio::time::timeout(Duration::from_secs(60), emu.stop.notified()).await;
                    StatusCode::GONE.into_response()
                }
            }
        }
        (Method::POST, "/init/error") => record("init error"),
        (Method::POST, r) if r.ends_with("/response") => record("response"),
        (Method::POST, r) if r.ends_with("/error") => record("error"),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Spawn `binary` with `env`, feed it `event`, and measure.
async fn cold_run(
    bin_dir: &Path,
    binary: &str,
    env: &[(String, String)],
    event: Value,
    log_dir: &Path,
) -> Result<ColdRun, String> {
    let emu = Arc::new(Emu::default());
    *emu.event.lock().unwrap() = Some((uuid::Uuid::new_v4().to_string(), event));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let app = Router::new().fallback(runtime_api).with_state(emu.clone());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let log = log_dir.join(format!("{binary}.log"));
    let out = std::fs::File::create(&log).map_err(|e| e.to_string())?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(bin_dir.join(binary));
    cmd.env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", binary)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    let t0 = Instant::now();
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin_dir.join(binary).display()))?;
    let pid = child.id();
    let finished = tokio::time::timeout(Duration::from_secs(30), emu.done.notified()).await;
    // SAFETY: signalling our own child by its pid (not yet reaped, so not reused).
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGKILL);
    }
    let max_rss_kib = tokio::task::spawn_blocking(move || reap_max_rss_kib(pid))
        .await
        .ok()
        .flatten()
        .unwrap_or(0);
    drop(child);
    emu.stop.notify_waiters();
    server.abort();
    let tail = || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    };
    if finished.is_err() {
        return Err(format!(
            "{binary}: no answer within 30 s; its log:\n{}",
            tail()
        ));
    }
    let (at, kind, response) = emu.outcome.lock().unwrap().clone().expect("outcome");
    if kind != "response" {
        return Err(format!(
            "{binary}: {kind}: {response}; its log:\n{}",
            tail()
        ));
    }
    let init = emu
        .first_next
        .lock()
        .unwrap()
        .map(|t| t - t0)
        .unwrap_or_default();
    Ok(ColdRun {
        binary: binary.to_string(),
        init,
        total: at - t0,
        max_rss_kib,
        response,
    })
}

/// The first webhook of a call to the bundled escalation line from the roster's second
/// agent, as a function-URL event signed with the secret's `twilio_auth_token`.
fn inbound_call(roster: &escalation_core::model::Roster, rep: usize) -> Result<Value, String> {
    use escalation_devtools::inbound_support::{InboundStack, call_params};
    let path = escalation_devtools::local::workspace_root().join("assets/inbound.json");
    let config: Value = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(|| format!("cannot read {}", path.display()))?;
    let line = config["numbers"][0]["number"]
        .as_str()
        .ok_or("assets/inbound.json has no number")?;
    let caller = roster.agents.last().ok_or("empty roster")?.phone.as_str();
    let call_sid = format!("CA{:032x}", 0xc01d_0000 + rep);
    Ok(InboundStack::signed_webhook(
        "https://inbound0123.lambda-url.us-east-1.on.aws/voice",
        &call_params(&call_sid, caller, line, &[]),
    ))
}

/// `reps` cold starts of every binary, each with a meaningful first invocation: the trigger
/// starts an escalation, the dialer places its queued first call, call-decision applies the 1 pressed on its call, flow-events finds
/// that (completed) call applied, the updater writes an acceptance to the incident, the sweeper sweeps, voice-inbound answers a call with its menu.
pub async fn run(rig: &Rig, bin_dir: &Path, reps: usize) -> Result<Vec<ColdRun>, String> {
    let twilio = twilio_fake(20, false).await;
    let roster =
        escalation_core::model::Roster::from_json(SAMPLE_ROSTER).map_err(|e| e.to_string())?;
    let roster_path = rig.dir.join("sample_roster.json");
    std::fs::write(&roster_path, SAMPLE_ROSTER).map_err(|e| e.to_string())?;
    let first = roster.agents[0].clone();
    twilio.script(first.phone.as_str(), press_1(0));
    if let Some(u) = &first.sn_user {
        rig.sn
            .add_user(&user_sys_id(u), u, &first.name, first.phone.as_str());
    }
    let mut env: Vec<(String, String)> = rig.env(&twilio.base_url(), &[]).into_iter().collect();
    env.extend(
        [
            ("AWS_ENDPOINT_URL", rig.endpoint.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("RUST_LOG", "info"),
            ("LOCAL_STACK", "true"),
            ("ROSTER_PATH", &roster_path.display().to_string()),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let mut runs = Vec::new();
    for rep in 0..reps {
        // incident-trigger: a new incident.
        let id = sys_id();
        let number = format!("INC{:07}", 9_000_000 + rep);
        rig.sn.add_incident(&id, &number, "Cold start", "1");
        let r = cold_run(
            bin_dir,
            "incident-trigger",
            &env,
            rig.trigger_event(&id, &number),
            &rig.dir,
        )
        .await?;
        if r.response["statusCode"] != 202 {
            return Err(format!("incident-trigger answered {}", r.response));
        }
        let escalation_id =
            serde_json::from_str::<Value>(r.response["body"].as_str().unwrap_or("{}"))
                .ok()
                .and_then(|b| b["escalation_id"].as_str().map(str::to_string))
                .unwrap_or_default();
        runs.push(r);

        // escalation-dialer: the first call the trigger queued.
        let dials = escalation_devtools::esm::SqsPoller::new(
            aws_sdk_sqs::Client::new(&rig.sdk),
            &rig.resources.dial_queue_url,
        )
        .await;
        let batch = dials
            .next_batch()
            .await
            .ok_or("the trigger queued no call")?;
        let r = cold_run(bin_dir, "escalation-dialer", &env, batch.clone(), &rig.dir).await?;
        let r = no_failures("escalation-dialer", r)?;
        dials.ack(&batch, &r.response).await;
        runs.push(r);

        // call-decision: the 1 pressed on that call, as the flow's HTTP Request widget
        // posts it.
        let sid = twilio
            .executions()
            .into_iter()
            .rfind(|e| e.status == "active")
            .ok_or("the trigger placed no call")?
            .sid;
        let r = cold_run(
            bin_dir,
            "call-decision",
            &env,
            decision_press(rig, &escalation_id, &id, &sid).event(),
            &rig.dir,
        )
        .await?;
        if r.response["statusCode"] != 200 || !r.response.to_string().contains("assigned") {
            return Err(format!("call-decision answered {}", r.response));
        }
        runs.push(r);

        // flow-events: the end of that call (a duplicate now).
        let ended = twilio.complete(&sid).await.ok_or("execution vanished")?;
        let record = escalation_devtools::esm::record_json(
            "arn:aws:kinesis:us-east-1:123456789012:stream/flow-events",
            &format!("49600000000000000000000000000000000000000000000{rep:09}"),
            &sid,
            ended.to_string().as_bytes(),
        );
        let r = cold_run(
            bin_dir,
            "flow-events",
            &env,
            json!({ "Records": [record] }),
            &rig.dir,
        )
        .await?;
        runs.push(no_failures("flow-events", r)?);

        // incident-updater: the acceptance (work note, state, assigned_to).
        let update = IncidentUpdate {
            key: format!("{escalation_id}:attempt:1"),
            sys_id: SysId::parse(&id).map_err(|e| e.to_string())?,
            incident_number: number.clone(),
            escalation_id: EscalationId::new(escalation_id.clone()),
            work_note: "Attempt 1: accepted (bench cold start).".into(),
            state: Some(IncidentState::InProgress),
            assign_to: first.sn_user.clone(),
            assignment_group: None,
        };
        let message = json!({
            "messageId": uuid::Uuid::new_v4().to_string(),
            "receiptHandle": "bench",
            "body": escalation_adapters::aws::sqs::encode(&update),
            "attributes": {"ApproximateReceiveCount": "1", "MessageGroupId": id,
                           "SentTimestamp": "1795255200000", "SenderId": "bench",
                           "ApproximateFirstReceiveTimestamp": "1795255200000"},
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:sn-updates.fifo",
            "awsRegion": "us-east-1"
        });
        let r = cold_run(
            bin_dir,
            "incident-updater",
            &env,
            json!({ "Records": [message] }),
            &rig.dir,
        )
        .await?;
        runs.push(no_failures("incident-updater", r)?);

        // escalation-sweeper: the scheduled event.
        let event = escalation_devtools::kit::scheduled_event();
        let r = cold_run(bin_dir, "escalation-sweeper", &env, event, &rig.dir).await?;
        if r.response.get("checked").is_none() {
            return Err(format!("escalation-sweeper answered {}", r.response));
        }
        runs.push(r);

        // voice-inbound: someone on the roster rings the escalation line (the bundled
        // assets/inbound.json); the signed webhook gets the menu back.
        let r = cold_run(
            bin_dir,
            "voice-inbound",
            &env,
            inbound_call(&roster, rep)?,
            &rig.dir,
        )
        .await?;
        let twiml = r.response["body"].as_str().unwrap_or("");
        if r.response["statusCode"] != 200 || !twiml.contains("<Gather") {
            return Err(format!("voice-inbound answered {}", r.response));
        }
        runs.push(r);
    }
    rig.settle_queue().await;
    Ok(runs)
}

/// The form Studio's HTTP Request widget posts to call-decision after a 1 on attempt 1.
fn decision_press(
    rig: &Rig,
    escalation_id: &str,
    sys_id: &str,
    execution: &str,
) -> escalation_devtools::kit::Request {
    let token = escalation_adapters::capability::DecisionKey::derive(&rig.key).token(
        escalation_id,
        sys_id,
        1,
    );
    let body = format!(
        "token={token}&escalation_id={escalation_id}&sys_id={sys_id}&attempt=1&execution_sid={execution}&digit=1&reason="
    );
    escalation_devtools::kit::Request::new(
        escalation_devtools::kit::TWILIO,
        "POST",
        "https://decision0123.lambda-url.us-east-1.on.aws/",
    )
    .header("content-type", escalation_devtools::kit::FORM)
    .with_body(body)
}

/// The run of a batch function, if it reported no failed item.
fn no_failures(function: &str, r: ColdRun) -> Result<ColdRun, String> {
    if r.response["batchItemFailures"] != json!([]) {
        return Err(format!("{function} answered {}", r.response));
    }
    Ok(r)
}

/// Deployable size of each binary: `target/lambda/<bin>/bootstrap.zip` (arm64, written by
/// scripts/build_arm64.sh) if present, else the x86_64 release binary (and its `zip -9`).
pub fn artifacts(bin_dir: &Path, lambda_dirs: &[PathBuf], scratch: &Path) -> Vec<Artifact> {
    BINARIES
        .iter()
        .map(|b| {
            if let Some(zip) = lambda_dirs
                .iter()
                .map(|d| d.join(b).join("bootstrap.zip"))
                .find(|p| p.is_file())
            {
                return Artifact {
                    binary: b.to_string(),
                    bytes: std::fs::metadata(&zip).map(|m| m.len()).unwrap_or(0),
                    // Relative to the target dir: the report never names paths of this machine.
                    kind: format!("arm64 bootstrap.zip (<target dir>/lambda/{b}/bootstrap.zip)"),
                    zipped_here: None,
                };
            }
            let bin = bin_dir.join(b);
            let bytes = std::fs::metadata(&bin).map(|m| m.len()).unwrap_or(0);
            let out = scratch.join(format!("{b}.zip"));
            let zipped_here = Command::new("zip")
                .arg("-q")
                .arg("-9")
                .arg("-j")
                .arg(&out)
                .arg(&bin)
                .status()
                .ok()
                .filter(|s| s.success())
                .and_then(|_| std::fs::metadata(&out).ok())
                .map(|m| m.len());
            Artifact {
                binary: b.to_string(),
                bytes,
                kind: "x86_64 release binary (no arm64 bootstrap.zip found)".into(),
                zipped_here,
            }
        })
        .collect()
}
