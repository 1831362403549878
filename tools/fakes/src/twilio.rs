//! Fake of Twilio Studio v2 executions (Twilio's Studio REST API v2) with simulated agents and Event
//! Streams CloudEvents (§1).
//!
//! * `POST /v2/Flows/{FlowSid}/Executions` (form `To`, `From`, `Parameters`): 201, 400, 404,
//!   409 (`20409`, one active execution per To/From), 429 (`20429`, `Retry-After: 1`, more
//!   than `rate_limit_per_sec` creations in the last second).
//! * `GET .../Executions[?Status=]`, `GET|POST|DELETE .../Executions/{Sid}`,
//!   `GET .../Executions/{Sid}/Context`, `GET .../Executions/{Sid}/Steps`.
//! * Each execution calls an agent whose behaviour is scripted per phone number
//!   ([`AgentStep`]); with `auto_end` the execution ends by itself after the step's
//!   `after_ms`, with a Context shaped like a real IVR run (widgets `call_agent` and
//!   `gather_digit`).
//! * Events `execution.started`, `step.ended`, `execution.ended`; `data` alternates between a
//!   JSON object and a JSON string.
//! * Control routes (no auth, not recorded) under `/__fake/...` (`flows`, `sinks` and
//!   `subscriptions` list the provisioning state).
//! * Provisioning APIs: Studio Flows and `Flows/Validate` ([`flows`]) and the Event Streams
//!   sinks and subscriptions ([`events_api`]), on the same port and credentials.

mod events;
pub mod events_api;
pub mod flows;
mod paging;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, oneshot};

pub use events::EventSink;

use crate::fault::{FaultRule, FaultSet};
use crate::record::{RecordedRequest, Recorder};
use crate::util::{self, Incoming, iso_millis, iso_seconds, lock, now_ms, sid};

use events::{
    Delivery, EXECUTION_ENDED, EXECUTION_SCHEMA, EXECUTION_STARTED, STEP_ENDED, STEP_SCHEMA,
    cloud_event,
};

/// Name of the outgoing-call widget in the simulated flow's context.
pub const CALL_WIDGET: &str = "call_agent";
/// Name of the gather widget in the simulated flow's context.
pub const GATHER_WIDGET: &str = "gather_digit";

/// Configuration of a Twilio fake.
#[derive(Clone, Debug)]
pub struct TwilioFakeConfig {
    pub account_sid: String,
    /// Basic-auth user name (an API key SID `SK...`).
    pub username: String,
    /// Basic-auth password (the API key secret).
    pub password: String,
    /// The only flow that exists.
    pub flow_sid: String,
    pub events: EventSink,
    /// Creations allowed per rolling second (default 20); 0 disables the limit.
    pub rate_limit_per_sec: u32,
    /// End executions by themselves according to the agent script (default true).
    pub auto_end: bool,
}

impl Default for TwilioFakeConfig {
    /// Random `AC`/`SK`/`FW` SIDs, password `"secret"`, no event sink, 20/s, auto end.
    fn default() -> Self {
        Self {
            account_sid: sid("AC"),
            username: sid("SK"),
            password: "secret".to_owned(),
            flow_sid: sid("FW"),
            events: EventSink::None,
            rate_limit_per_sec: 20,
            auto_end: true,
        }
    }
}

/// What the called agent does during one execution.
///
/// JSON form: `{"action": "press", "digit": "1", "after_ms": 200}`, `{"action": "no-answer"}`...
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "action")]
pub enum AgentStep {
    /// Answers (human) and presses `digit`.
    Press {
        digit: String,
        #[serde(default)]
        after_ms: u64,
    },
    /// Answers (human), presses nothing; the gather times out.
    Hangup {
        #[serde(default)]
        after_ms: u64,
    },
    /// Does not answer (`CallStatus: no-answer`).
    NoAnswer {
        #[serde(default)]
        after_ms: u64,
    },
    /// Line busy (`CallStatus: busy`).
    Busy {
        #[serde(default)]
        after_ms: u64,
    },
    /// Call fails (`CallStatus: failed`).
    Failed {
        #[serde(default)]
        after_ms: u64,
    },
    /// Voicemail picks up (`AnsweredBy: machine_start`).
    Machine {
        #[serde(default)]
        after_ms: u64,
    },
}

impl AgentStep {
    /// Delay before the execution ends with this outcome.
    pub fn after_ms(&self) -> u64 {
        match self {
            AgentStep::Press { after_ms, .. }
            | AgentStep::Hangup { after_ms }
            | AgentStep::NoAnswer { after_ms }
            | AgentStep::Busy { after_ms }
            | AgentStep::Failed { after_ms }
            | AgentStep::Machine { after_ms } => *after_ms,
        }
    }

    /// `context.widgets` of an execution that ended with this outcome.
    fn widgets(&self, call_sid: &str, to: &str, from: &str) -> Value {
        let call = |status: &str, answered_by: Option<&str>| {
            let mut m = Map::new();
            m.insert("CallSid".into(), call_sid.into());
            m.insert("CallStatus".into(), status.into());
            if let Some(a) = answered_by {
                m.insert("AnsweredBy".into(), a.into());
            }
            m.insert("To".into(), to.into());
            m.insert("From".into(), from.into());
            Value::Object(m)
        };
        match self {
            AgentStep::Press { digit, .. } => json!({
                CALL_WIDGET: call("completed", Some("human")),
                GATHER_WIDGET: {"Digits": digit, "CallStatus": "in-progress"},
            }),
            AgentStep::Hangup { .. } => json!({
                CALL_WIDGET: call("completed", Some("human")),
                GATHER_WIDGET: {"CallStatus": "in-progress"},
            }),
            AgentStep::Machine { .. } => {
                json!({CALL_WIDGET: call("completed", Some("machine_start"))})
            }
            AgentStep::NoAnswer { .. } => json!({CALL_WIDGET: call("no-answer", None)}),
            AgentStep::Busy { .. } => json!({CALL_WIDGET: call("busy", None)}),
            AgentStep::Failed { .. } => json!({CALL_WIDGET: call("failed", None)}),
        }
    }

    /// (widget that ran last, its transition event, widget type) for the last step.
    fn last_transition(&self) -> (&'static str, &'static str, &'static str) {
        const GATHER: &str = "gather-input-on-call";
        const CALL: &str = "make-outgoing-call-v2";
        match self {
            AgentStep::Press { .. } => (GATHER_WIDGET, "keypress", GATHER),
            AgentStep::Hangup { .. } => (GATHER_WIDGET, "timeout", GATHER),
            AgentStep::Machine { .. } => (CALL_WIDGET, "answered", CALL),
            AgentStep::NoAnswer { .. } => (CALL_WIDGET, "noAnswer", CALL),
            AgentStep::Busy { .. } => (CALL_WIDGET, "busy", CALL),
            AgentStep::Failed { .. } => (CALL_WIDGET, "failed", CALL),
        }
    }
}

/// An execution as seen by tests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecutionRecord {
    pub sid: String,
    pub to: String,
    pub from: String,
    /// The `Parameters` object (`{}` when none were sent).
    pub parameters: Value,
    /// `"active"` or `"ended"`.
    pub status: String,
    pub created_at_ms: u64,
    /// The agent step scripted for this execution (chosen at creation).
    pub outcome: Option<AgentStep>,
    /// How it ended: `"agent"` (simulation or [`TwilioHandle::complete`]) or `"api"`
    /// (`POST Status=ended`); `None` while active.
    pub ended_by: Option<String>,
}

/// Entry point: `TwilioFake::start(cfg).await`.
pub struct TwilioFake;

impl TwilioFake {
    /// Starts the fake on `127.0.0.1:<random port>` in a background tokio task.
    pub async fn start(cfg: TwilioFakeConfig) -> TwilioHandle {
        Self::start_on(util::any_local_port(), cfg).await
    }

    /// Starts the fake on `addr` in a background tokio task. Panics if `addr` cannot be bound.
    pub async fn start_on(addr: SocketAddr, cfg: TwilioFakeConfig) -> TwilioHandle {
        let (listener, base_url) = util::bind(addr).await;
        let sink = match &cfg.events {
            EventSink::None => None,
            EventSink::Kinesis {
                client,
                stream_name,
            } => Some(events::spawn_kinesis_forwarder(
                client.clone(),
                stream_name.clone(),
            )),
        };
        let inner = Arc::new(Inner {
            base_url,
            cfg,
            sink,
            state: Mutex::new(Sim::default()),
            recorder: Recorder::default(),
            faults: FaultSet::default(),
            flows: flows::Flows::default(),
            event_streams: events_api::EventStreams::default(),
        });
        let router = Router::new().fallback(handle).with_state(inner.clone());
        util::spawn_server(listener, router);
        TwilioHandle { inner }
    }
}

/// Control handle of a running Twilio fake. Cheap to clone.
#[derive(Clone)]
pub struct TwilioHandle {
    inner: Arc<Inner>,
}

impl TwilioHandle {
    /// `http://127.0.0.1:PORT` (no trailing slash); use it as the Studio base URL.
    pub fn base_url(&self) -> String {
        self.inner.base_url.clone()
    }

    /// The configuration the fake runs with.
    pub fn config(&self) -> &TwilioFakeConfig {
        &self.inner.cfg
    }

    /// Scripts the agent at `phone` (matched on `+` and digits only, so formatting does not
    /// matter). Each execution to that number consumes one step; the last step repeats.
    /// Replaces an earlier script for the number. Unscripted numbers do not answer.
    pub fn script(&self, phone: &str, steps: Vec<AgentStep>) {
        let mut st = lock(&self.inner.state);
        st.scripts
            .insert(normalize_phone(phone), Script { steps, next: 0 });
    }

    /// All executions, oldest first.
    pub fn executions(&self) -> Vec<ExecutionRecord> {
        lock(&self.inner.state)
            .executions
            .iter()
            .map(Execution::record)
            .collect()
    }

    /// Ends the active execution `sid` now with its scripted outcome and emits its events.
    /// Returns the `execution.ended` CloudEvent (after it was delivered to the sink), or `None`
    /// if there is no such active execution. Meant for `auto_end: false`.
    pub async fn complete(&self, sid: &str) -> Option<Value> {
        self.inner.finish(sid, true).await
    }

    /// Every request served on the API routes (not `/__fake`), in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.recorder.all()
    }

    /// Forgets recorded requests.
    pub fn clear_requests(&self) {
        self.inner.recorder.clear();
    }

    /// Adds a fault rule.
    pub fn inject(&self, rule: FaultRule) {
        self.inner.faults.add(rule);
    }

    /// Removes all fault rules.
    pub fn clear_faults(&self) {
        self.inner.faults.clear();
    }

    /// Every CloudEvent emitted, in emission order.
    pub fn events(&self) -> Vec<Value> {
        lock(&self.inner.state).events.clone()
    }
}

struct Script {
    steps: Vec<AgentStep>,
    next: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Active,
    Ended,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Ended => "ended",
        }
    }
}

struct Execution {
    sid: String,
    to: String,
    from: String,
    parameters: Value,
    contact_sid: String,
    call_sid: String,
    status: Status,
    created_ms: u64,
    updated_ms: u64,
    outcome: Option<AgentStep>,
    ended_by: Option<&'static str>,
    /// Widgets that ran (set when the agent step completed).
    widgets: Option<Value>,
    steps: Vec<Value>,
}

impl Execution {
    fn record(&self) -> ExecutionRecord {
        ExecutionRecord {
            sid: self.sid.clone(),
            to: self.to.clone(),
            from: self.from.clone(),
            parameters: self.parameters.clone(),
            status: self.status.as_str().to_owned(),
            created_at_ms: self.created_ms,
            outcome: self.outcome.clone(),
            ended_by: self.ended_by.map(str::to_owned),
        }
    }
}

#[derive(Default)]
struct Sim {
    executions: Vec<Execution>,
    scripts: HashMap<String, Script>,
    /// Contact SID per normalized `To`.
    contacts: HashMap<String, String>,
    /// Creation instants within the last second (rate limit).
    creations: VecDeque<Instant>,
    events: Vec<Value>,
}

impl Sim {
    fn find(&self, sid: &str) -> Option<&Execution> {
        self.executions.iter().find(|e| e.sid == sid)
    }

    fn find_mut(&mut self, sid: &str) -> Option<&mut Execution> {
        self.executions.iter_mut().find(|e| e.sid == sid)
    }

    fn next_step(&mut self, to: &str) -> AgentStep {
        match self.scripts.get_mut(&normalize_phone(to)) {
            Some(script) if !script.steps.is_empty() => {
                let idx = script.next.min(script.steps.len() - 1);
                script.next = idx + 1;
                script.steps[idx].clone()
            }
            _ => AgentStep::NoAnswer { after_ms: 0 },
        }
    }
}

struct Inner {
    base_url: String,
    cfg: TwilioFakeConfig,
    sink: Option<mpsc::UnboundedSender<Delivery>>,
    state: Mutex<Sim>,
    recorder: Recorder,
    faults: FaultSet,
    flows: flows::Flows,
    event_streams: events_api::EventStreams,
}

/// `+` and digits only.
fn normalize_phone(p: &str) -> String {
    p.chars()
        .filter(|c| *c == '+' || c.is_ascii_digit())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Error envelopes: `{code, message, more_info, status}`

fn twilio_error(status: u16, code: u32, message: &str, headers: &[(&str, String)]) -> Response {
    util::json(
        status,
        &json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status,
        }),
        headers,
    )
}

fn unauthorized() -> Response {
    twilio_error(
        401,
        20003,
        "Authenticate",
        &[("WWW-Authenticate", "Basic realm=\"Twilio API\"".to_owned())],
    )
}

fn not_found(path: &str) -> Response {
    twilio_error(
        404,
        20404,
        &format!("The requested resource {path} was not found"),
        &[],
    )
}

fn invalid(message: &str) -> Response {
    twilio_error(400, 20001, message, &[])
}

fn too_many_requests(retry_after: Option<u64>) -> Response {
    let headers: Vec<(&str, String)> = retry_after
        .map(|s| vec![("Retry-After", s.to_string())])
        .unwrap_or_default();
    twilio_error(429, 20429, "Too Many Requests", &headers)
}

fn fault_response(rule: &FaultRule, path: &str) -> Response {
    let mut headers: Vec<(&str, String)> = Vec::new();
    if let Some(secs) = rule.retry_after_secs {
        headers.push(("Retry-After", secs.to_string()));
    }
    if rule.html_body {
        let title = match rule.status {
            502 => "502 Bad Gateway",
            503 => "503 Service Temporarily Unavailable",
            504 => "504 Gateway Time-out",
            _ => "Error",
        };
        return util::html(rule.status, title, &headers);
    }
    let (code, message) = match rule.status {
        401 => (20003, "Authenticate".to_owned()),
        403 => (20403, "Forbidden".to_owned()),
        404 => (
            20404,
            format!("The requested resource {path} was not found"),
        ),
        409 => (20409, "Conflict".to_owned()),
        429 => (20429, "Too Many Requests".to_owned()),
        500 => (20500, "Internal Server Error".to_owned()),
        503 => (20503, "Service Unavailable".to_owned()),
        s => (20000 + u32::from(s), "Error".to_owned()),
    };
    twilio_error(rule.status, code, &message, &headers)
}

// ---------------------------------------------------------------------------------------------
// Request handling

async fn handle(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let inc = Incoming::read(req).await;
    if inc.path == "/__fake" || inc.path.starts_with("/__fake/") {
        return control(&inner, &inc).await;
    }
    let resp = inner.serve(&inc).await;
    inner.recorder.push(inc.record(resp.status().as_u16()));
    resp
}

fn form(inc: &Incoming) -> Option<Vec<(String, String)>> {
    if inc.body_unreadable {
        return None;
    }
    serde_urlencoded::from_bytes(&inc.body).ok()
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

impl Inner {
    async fn serve(self: &Arc<Self>, inc: &Incoming) -> Response {
        if let Some(rule) = self.faults.take(&inc.method, &inc.path) {
            if rule.delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(rule.delay_ms)).await;
            }
            if rule.status != 0 {
                return fault_response(&rule, &inc.path);
            }
        }
        match util::basic_credentials(&inc.headers) {
            Some((u, p)) if u == self.cfg.username && p == self.cfg.password => {}
            _ => return unauthorized(),
        }
        let segs: Vec<&str> = inc.path.trim_end_matches('/').split('/').collect();
        let method = inc.method.as_str();
        let flow_ok = |f: &str| f == self.cfg.flow_sid;
        match segs.as_slice() {
            ["", "v2", "Flows", f, "Executions", rest @ ..] if flow_ok(f) => match (method, rest) {
                ("POST", []) => self.create(inc),
                ("GET", []) => self.list(inc),
                ("GET", [sid]) => self.fetch(sid, &inc.path),
                ("POST", [sid]) => self.update(inc, sid).await,
                ("DELETE", [sid]) => self.delete(sid, &inc.path),
                ("GET", [sid, "Context"]) => self.context(sid, &inc.path),
                ("GET", [sid, "Steps"]) => self.steps(sid, &inc.path),
                (_, [] | [_] | [_, "Context" | "Steps"]) => {
                    twilio_error(405, 20004, "Method not allowed", &[])
                }
                _ => not_found(&inc.path),
            },
            ["", "v2", "Flows", rest @ ..] => self.serve_flows(inc, rest),
            ["", "v1", rest @ ..] => self.serve_event_streams(inc, rest),
            _ => not_found(&inc.path),
        }
    }

    fn execution_url(&self, sid: &str) -> String {
        format!(
            "{}/v2/Flows/{}/Executions/{sid}",
            self.base_url, self.cfg.flow_sid
        )
    }

    fn resource(&self, e: &Execution) -> Value {
        let url = self.execution_url(&e.sid);
        json!({
            "url": url,
            "sid": e.sid,
            "account_sid": self.cfg.account_sid,
            "flow_sid": self.cfg.flow_sid,
            "context": {},
            "contact_channel_address": e.to,
            "contact_sid": e.contact_sid,
            "flow_version": 1,
            "status": e.status.as_str(),
            "date_created": iso_seconds(e.created_ms),
            "date_updated": iso_seconds(e.updated_ms),
            "initiated_by": e.call_sid,
            "links": {
                "steps": format!("{url}/Steps"),
                "execution_context": format!("{url}/Context"),
            },
        })
    }

    fn context_of(&self, e: &Execution) -> Value {
        let mut ctx = json!({
            "flow": {
                "flow_sid": self.cfg.flow_sid,
                "sid": e.sid,
                "channel": {"address": e.from},
                "data": e.parameters,
                "variables": {},
            },
            "trigger": {"request": {"from": e.from, "to": e.to, "parameters": e.parameters}},
            "contact": {"channel": {"address": e.to}},
        });
        if let (Some(w), Some(obj)) = (&e.widgets, ctx.as_object_mut()) {
            obj.insert("widgets".into(), w.clone());
        }
        ctx
    }

    fn source(&self, sid: &str) -> String {
        format!("/v2/Flows/{}/Executions/{sid}", self.cfg.flow_sid)
    }

    fn execution_event_data(&self, e: &Execution) -> Value {
        let mut data = json!({
            "execution_sid": e.sid,
            "account_sid": self.cfg.account_sid,
            "flow_sid": self.cfg.flow_sid,
            "contact_channel_address": e.to,
            "status": e.status.as_str(),
            "date_created": iso_millis(e.created_ms),
            "date_updated": iso_millis(e.updated_ms),
            "started_by": e.call_sid,
            "flow_revision": 1,
        });
        if let (Status::Ended, Some(obj)) = (e.status, data.as_object_mut()) {
            obj.insert("ended_reason".into(), "FLOW_END".into());
        }
        data
    }

    /// Records an event and queues it for the sink (under the state lock, so the sink sees
    /// events in emission order). Every other event carries `data` as a JSON string.
    fn emit(
        &self,
        st: &mut Sim,
        partition_key: &str,
        event: (&str, String, &str, Value),
        ack: Option<oneshot::Sender<()>>,
    ) -> Value {
        let (event_type, source, schema, data) = event;
        let as_string = st.events.len() % 2 == 1;
        let ev = cloud_event(event_type, &source, schema, data, as_string);
        st.events.push(ev.clone());
        match &self.sink {
            Some(tx) => {
                if tx
                    .send((partition_key.to_owned(), ev.clone(), ack))
                    .is_err()
                {
                    tracing::error!("Kinesis forwarder is gone; event not delivered");
                }
            }
            None => {
                if let Some(ack) = ack {
                    let _ = ack.send(());
                }
            }
        }
        ev
    }

    fn create(self: &Arc<Self>, inc: &Incoming) -> Response {
        let Some(pairs) = form(inc) else {
            return invalid(
                "Unable to parse the request body as application/x-www-form-urlencoded",
            );
        };
        let to = param(&pairs, "To").unwrap_or_default().to_owned();
        let from = param(&pairs, "From").unwrap_or_default().to_owned();
        if to.is_empty() {
            return invalid("Missing required parameter To in the post body");
        }
        if from.is_empty() {
            return invalid("Missing required parameter From in the post body");
        }
        if to.len() + from.len() > 300 {
            return twilio_error(
                400,
                81023,
                "The combined length of To and From exceeds 300 bytes",
                &[],
            );
        }
        let parameters = match param(&pairs, "Parameters") {
            None => Value::Object(Map::new()),
            Some(raw) => match serde_json::from_str::<Value>(raw) {
                Ok(v @ Value::Object(_)) => v,
                _ => {
                    return invalid(
                        "Invalid Parameters: must be a JSON object encoded as a string",
                    );
                }
            },
        };

        let mut guard = lock(&self.state);
        let st = &mut *guard;
        let now = Instant::now();
        while st
            .creations
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            st.creations.pop_front();
        }
        let limit = self.cfg.rate_limit_per_sec;
        if limit > 0 && st.creations.len() >= limit as usize {
            return too_many_requests(Some(1));
        }
        let (nto, nfrom) = (normalize_phone(&to), normalize_phone(&from));
        if let Some(active) = st.executions.iter().find(|e| {
            e.status == Status::Active
                && normalize_phone(&e.to) == nto
                && normalize_phone(&e.from) == nfrom
        }) {
            return util::json(
                409,
                &json!({
                    "code": 20409,
                    "details": {"conflicting_execution_sid": active.sid},
                    "message": format!(
                        "Execution {} is already active for this contact. End the active Execution before creating a new one",
                        active.sid
                    ),
                    "more_info": "https://www.twilio.com/docs/errors/20409",
                    "status": 409,
                }),
                &[],
            );
        }
        st.creations.push_back(now);
        let created = now_ms();
        let contact_sid = st.contacts.entry(nto).or_insert_with(|| sid("FC")).clone();
        let step = st.next_step(&to);
        let exec = Execution {
            sid: sid("FN"),
            to,
            from,
            parameters,
            contact_sid,
            call_sid: sid("CA"),
            status: Status::Active,
            created_ms: created,
            updated_ms: created,
            outcome: Some(step.clone()),
            ended_by: None,
            widgets: None,
            steps: Vec::new(),
        };
        let body = self.resource(&exec);
        let data = self.execution_event_data(&exec);
        let exec_sid = exec.sid.clone();
        st.executions.push(exec);
        self.emit(
            st,
            &exec_sid,
            (
                EXECUTION_STARTED,
                self.source(&exec_sid),
                EXECUTION_SCHEMA,
                data,
            ),
            None,
        );
        drop(guard);

        if self.cfg.auto_end {
            let inner = Arc::clone(self);
            let delay = step.after_ms();
            tokio::spawn(async move {
                if delay > 0 {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                }
                inner.finish(&exec_sid, false).await;
            });
        }
        util::json(201, &body, &[])
    }

    /// Ends an active execution with its scripted outcome (the agent acted).
    async fn finish(&self, sid: &str, wait_for_delivery: bool) -> Option<Value> {
        let (ack_tx, ack_rx) = oneshot::channel();
        let ended = {
            let mut guard = lock(&self.state);
            let st = &mut *guard;
            let now = now_ms();
            let e = st.find_mut(sid).filter(|e| e.status == Status::Active)?;
            let outcome = e
                .outcome
                .clone()
                .unwrap_or(AgentStep::NoAnswer { after_ms: 0 });
            e.status = Status::Ended;
            e.updated_ms = now;
            e.ended_by = Some("agent");
            e.widgets = Some(outcome.widgets(&e.call_sid, &e.to, &e.from));
            let (widget, name, widget_type) = outcome.last_transition();
            let step_sid = util::sid("FT");
            let step_url = format!("{}/Steps/{step_sid}", self.execution_url(sid));
            e.steps.push(json!({
                "sid": step_sid,
                "account_sid": self.cfg.account_sid,
                "flow_sid": self.cfg.flow_sid,
                "execution_sid": sid,
                "parent_step_sid": null,
                "name": name,
                "context": {},
                "transitioned_from": widget,
                "transitioned_to": "Ended",
                "type": widget_type,
                "date_created": iso_seconds(now),
                "date_updated": iso_seconds(now),
                "url": step_url,
                "links": {"step_context": format!("{step_url}/Context")},
            }));
            let step_data = json!({
                "account_sid": self.cfg.account_sid,
                "execution_sid": sid,
                "flow_sid": self.cfg.flow_sid,
                "step_sid": step_sid,
                "parent_step_sid": null,
                "name": name,
                "transitioned_from": widget,
                "transitioned_to": "Ended",
                "date_created": iso_millis(now),
            });
            let end_data = self.execution_event_data(e);
            let step_source = format!("{}/Steps/{step_sid}", self.source(sid));
            self.emit(
                st,
                sid,
                (STEP_ENDED, step_source, STEP_SCHEMA, step_data),
                None,
            );
            self.emit(
                st,
                sid,
                (
                    EXECUTION_ENDED,
                    self.source(sid),
                    EXECUTION_SCHEMA,
                    end_data,
                ),
                Some(ack_tx),
            )
        };
        if wait_for_delivery {
            let _ = ack_rx.await;
        }
        Some(ended)
    }

    fn list(&self, inc: &Incoming) -> Response {
        let q = inc.query_pairs();
        let status = param(&q, "Status").or_else(|| param(&q, "status"));
        if let Some(s) = status
            && s != "active"
            && s != "ended"
        {
            return invalid("Status must be one of: active, ended");
        }
        // DateCreatedFrom (inclusive) and DateCreatedTo (exclusive), ISO 8601.
        let mut window = [None, None];
        for (i, name) in ["DateCreatedFrom", "DateCreatedTo"].iter().enumerate() {
            if let Some(v) = param(&q, name) {
                match util::parse_iso(v) {
                    Some(ms) => window[i] = Some(ms),
                    None => {
                        return invalid(&format!(
                            "{name} must be an ISO 8601 date-time such as 2026-11-21T10:00:00Z"
                        ));
                    }
                }
            }
        }
        let [from, to] = window;
        let page_size = param(&q, "PageSize")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(50)
            .clamp(1, 1000);
        let page = param(&q, "Page")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        let st = lock(&self.state);
        let matching: Vec<&Execution> = st
            .executions
            .iter()
            .rev()
            .filter(|e| status.is_none_or(|s| e.status.as_str() == s))
            .filter(|e| from.is_none_or(|f| e.created_ms / 1000 * 1000 >= f))
            .filter(|e| to.is_none_or(|t| e.created_ms / 1000 * 1000 < t))
            .collect();
        let items: Vec<Value> = matching
            .iter()
            .skip(page * page_size)
            .take(page_size)
            .map(|e| self.resource(e))
            .collect();
        let has_next = matching.len() > (page + 1) * page_size;
        let base = format!("{}{}", self.base_url, inc.path);
        let mut status_q = status.map(|s| format!("Status={s}&")).unwrap_or_default();
        for name in ["DateCreatedFrom", "DateCreatedTo"] {
            if let Some(v) = param(&q, name) {
                status_q.push_str(&format!("{name}={v}&"));
            }
        }
        let page_url = |p: usize| format!("{base}?{status_q}PageSize={page_size}&Page={p}");
        util::json(
            200,
            &json!({
                "meta": {
                    "page": page,
                    "page_size": page_size,
                    "first_page_url": page_url(0),
                    "previous_page_url": if page > 0 { Value::String(page_url(page - 1)) } else { Value::Null },
                    "next_page_url": if has_next { Value::String(page_url(page + 1)) } else { Value::Null },
                    "url": page_url(page),
                    "key": "executions",
                },
                "executions": items,
            }),
            &[],
        )
    }

    fn fetch(&self, sid: &str, path: &str) -> Response {
        let st = lock(&self.state);
        match st.find(sid) {
            Some(e) => util::json(200, &self.resource(e), &[]),
            None => not_found(path),
        }
    }

    async fn update(&self, inc: &Incoming, sid: &str) -> Response {
        let Some(pairs) = form(inc) else {
            return invalid(
                "Unable to parse the request body as application/x-www-form-urlencoded",
            );
        };
        let Some(status) = param(&pairs, "Status") else {
            return invalid("Missing required parameter Status in the post body");
        };
        let (ack_tx, ack_rx) = oneshot::channel();
        let body = {
            let mut guard = lock(&self.state);
            let st = &mut *guard;
            let Some(e) = st.find_mut(sid) else {
                return not_found(&inc.path);
            };
            match (status, e.status) {
                ("ended", Status::Active) => {
                    e.status = Status::Ended;
                    e.updated_ms = now_ms();
                    e.ended_by = Some("api");
                    let body = self.resource(e);
                    let data = self.execution_event_data(e);
                    self.emit(
                        st,
                        sid,
                        (EXECUTION_ENDED, self.source(sid), EXECUTION_SCHEMA, data),
                        Some(ack_tx),
                    );
                    body
                }
                ("ended", Status::Ended) | ("active", Status::Active) => self.resource(e),
                ("active", Status::Ended) => {
                    return invalid("An ended Execution cannot be made active again");
                }
                _ => return invalid("Status must be one of: active, ended"),
            }
        };
        // Deliver the ended event before answering, as a real sink would see it soon after.
        let _ = ack_rx.await;
        util::json(200, &body, &[])
    }

    fn delete(&self, sid: &str, path: &str) -> Response {
        let mut st = lock(&self.state);
        let before = st.executions.len();
        st.executions.retain(|e| e.sid != sid);
        if st.executions.len() == before {
            return not_found(path);
        }
        util::response(204, None, "", &[])
    }

    fn context(&self, sid: &str, path: &str) -> Response {
        let st = lock(&self.state);
        match st.find(sid) {
            Some(e) => util::json(
                200,
                &json!({
                    "account_sid": self.cfg.account_sid,
                    "context": self.context_of(e),
                    "flow_sid": self.cfg.flow_sid,
                    "execution_sid": e.sid,
                    "url": format!("{}/Context", self.execution_url(&e.sid)),
                }),
                &[],
            ),
            None => not_found(path),
        }
    }

    fn steps(&self, sid: &str, path: &str) -> Response {
        let st = lock(&self.state);
        let Some(e) = st.find(sid) else {
            return not_found(path);
        };
        let url = format!("{}{path}?PageSize=50&Page=0", self.base_url);
        util::json(
            200,
            &json!({
                "meta": {
                    "page": 0,
                    "page_size": 50,
                    "first_page_url": url,
                    "previous_page_url": null,
                    "next_page_url": null,
                    "url": url,
                    "key": "steps",
                },
                "steps": e.steps,
            }),
            &[],
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Control routes

#[derive(Deserialize)]
struct AgentScript {
    phone: String,
    steps: Vec<AgentStep>,
}

fn control_error(status: u16, message: &str) -> Response {
    util::json(status, &json!({ "error": message }), &[])
}

async fn control(inner: &Arc<Inner>, inc: &Incoming) -> Response {
    let handle = TwilioHandle {
        inner: Arc::clone(inner),
    };
    let segs: Vec<&str> = inc.path.trim_end_matches('/').split('/').skip(2).collect();
    match (inc.method.as_str(), segs.as_slice()) {
        ("POST", ["agents"]) => match serde_json::from_slice::<AgentScript>(&inc.body) {
            Ok(s) => {
                handle.script(&s.phone, s.steps);
                util::response(204, None, "", &[])
            }
            Err(e) => control_error(400, &format!("invalid agent script: {e}")),
        },
        ("GET", ["executions"]) => util::json(200, &json!(handle.executions()), &[]),
        ("POST", ["executions", sid, "complete"]) => match handle.complete(sid).await {
            Some(ev) => util::json(200, &ev, &[]),
            None => control_error(404, "no such active execution"),
        },
        ("GET", ["requests"]) => util::json(200, &json!(handle.requests()), &[]),
        ("DELETE", ["requests"]) => {
            handle.clear_requests();
            util::response(204, None, "", &[])
        }
        ("GET", ["events"]) => util::json(200, &Value::Array(handle.events()), &[]),
        ("GET", ["flows"]) => util::json(200, &json!(handle.flows()), &[]),
        ("GET", ["sinks"]) => util::json(200, &json!(handle.sinks()), &[]),
        ("GET", ["subscriptions"]) => util::json(200, &json!(handle.subscriptions()), &[]),
        ("POST", ["faults"]) => match serde_json::from_slice::<FaultRule>(&inc.body) {
            Ok(rule) => {
                handle.inject(rule.clone());
                util::json(201, &json!(rule), &[])
            }
            Err(e) => control_error(400, &format!("invalid fault rule: {e}")),
        },
        ("DELETE", ["faults"]) => {
            handle.clear_faults();
            util::response(204, None, "", &[])
        }
        _ => control_error(404, "unknown control route"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_steps_serde() {
        let steps: Vec<AgentStep> = serde_json::from_str(
            r#"[{"action":"press","digit":"1","after_ms":5},{"action":"no-answer"},{"action":"machine"}]"#,
        )
        .expect("valid steps");
        assert_eq!(
            steps,
            vec![
                AgentStep::Press {
                    digit: "1".into(),
                    after_ms: 5
                },
                AgentStep::NoAnswer { after_ms: 0 },
                AgentStep::Machine { after_ms: 0 },
            ]
        );
        assert_eq!(
            serde_json::to_value(AgentStep::Hangup { after_ms: 0 }).expect("serializes"),
            json!({"action": "hangup", "after_ms": 0})
        );
    }

    #[test]
    fn phones_normalize() {
        assert_eq!(normalize_phone("+1 555 010-0001"), "+15550100001");
    }
}
