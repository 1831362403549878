//! Fake of Twilio Studio v2 executions, answering as the Studio REST API does, with
//! simulated agents and Event Streams CloudEvents.
//!
//! * `POST /v2/Flows/{FlowSid}/Executions` (form `To`, `From`, `Parameters`): 201, 400, 404,
//!   409 (`20409`, one active execution per To/From), 429 (`20429`, `Retry-After: 1`, more
//!   than `rate_limit_per_sec` creations in the last second).
//! * `GET .../Executions[?Status=]`, `GET|POST|DELETE .../Executions/{Sid}`,
//!   `GET .../Executions/{Sid}/Context`, `GET .../Executions/{Sid}/Steps`.
//! * Each execution calls an agent whose behaviour is scripted per phone number
//!   ([`AgentStep`]); with `auto_end` the execution ends by itself after the step's
//!   `after_ms`. The installed flow (else the shipped one) is walked widget by widget with
//!   the agent's keys (`walk`): the Context shows each widget's last run and the flow's
//!   variables, and [`ExecutionRecord::heard`] what the person heard.
//! * Events `execution.started`, `step.ended`, `execution.ended`; `data` alternates between a
//!   JSON object and a JSON string.
//! * Control routes (no auth, not recorded) under `/__fake/...` (`flows`, `sinks` and
//!   `subscriptions` list the provisioning state).
//! * Programmable Voice's Calls ([`calls`]): the calls placed into a conference bridge
//!   (`POST …/Calls.json`), every call listed and fetched (the executions' calls too), and
//!   calls hung up (`POST …/Calls/{CallSid}.json` `Status=completed|canceled`; an
//!   execution's call hung up ends the execution), recorded ([`TwilioHandle::hang_ups`],
//!   `GET /__fake/hangups`).
//! * The Messages API (`POST /2010-04-01/Accounts/{AC}/Messages.json`, [`messages`]):
//!   texts are recorded ([`TwilioHandle::messages`], `GET /__fake/messages`).
//! * Provisioning APIs: Studio Flows and `Flows/Validate` ([`flows`]) and the Event Streams
//!   sinks and subscriptions ([`events_api`]), on the same port and credentials.
//!
//! `executions`: the Executions routes and their state; `agent`: the simulated agents;
//! `events`: the CloudEvents and their delivery; `errors`: the error envelopes;
//! `control`: the control routes; `paging`: list pages; `walk`: running the flow.

mod agent;
mod calls;
mod control;
mod errors;
mod events;
pub mod events_api;
mod executions;
mod flow_check;
pub mod flows;
mod http_widget;
mod messages;
mod paging;
mod walk;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::Value;
use tokio::sync::mpsc;

pub use agent::{AgentStep, CALL_WIDGET, GATHER_WIDGET};
pub use calls::{HangUpRecord, PlacedCall};
pub use events::EventSink;
pub use executions::ExecutionRecord;
pub use messages::MessageRecord;
pub use walk::Heard;

use crate::traffic::{Traffic, is_control, traffic_controls};
use crate::util::{self, Incoming, lock, sid};

use agent::Script;
use errors::{fault_response, invalid, not_found, twilio_error, unauthorized, unparsable_form};
use events::Delivery;
use executions::{Execution, Sim};

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
            traffic: Traffic::default(),
            flows: flows::Flows::default(),
            calls: Mutex::new(Vec::new()),
            hang_ups: Mutex::new(Vec::new()),
            event_streams: events_api::EventStreams::default(),
            messages: Mutex::default(),
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

    /// Calls created through the Calls API, oldest first.
    pub fn calls(&self) -> Vec<PlacedCall> {
        lock(&self.inner.calls).clone()
    }

    /// Every request to end a call (`POST …/Calls/{CallSid}.json` with `Status`), oldest
    /// first, with what it did.
    pub fn hang_ups(&self) -> Vec<HangUpRecord> {
        lock(&self.inner.hang_ups).clone()
    }

    /// Every text message accepted by the Messages API, oldest first.
    pub fn messages(&self) -> Vec<MessageRecord> {
        lock(&self.inner.messages).clone()
    }

    /// Every CloudEvent emitted, in emission order.
    pub fn events(&self) -> Vec<Value> {
        lock(&self.inner.state).events.clone()
    }
}

traffic_controls!(TwilioHandle);

struct Inner {
    base_url: String,
    cfg: TwilioFakeConfig,
    sink: Option<mpsc::UnboundedSender<Delivery>>,
    state: Mutex<Sim>,
    traffic: Traffic,
    flows: flows::Flows,
    /// Calls created through the Calls API (`calls`), oldest first.
    calls: Mutex<Vec<PlacedCall>>,
    /// Requests to end a call, oldest first.
    hang_ups: Mutex<Vec<HangUpRecord>>,
    event_streams: events_api::EventStreams,
    messages: Mutex<Vec<MessageRecord>>,
}

/// `+` and digits only.
fn normalize_phone(p: &str) -> String {
    p.chars()
        .filter(|c| *c == '+' || c.is_ascii_digit())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Request handling

async fn handle(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let inc = Incoming::read(req).await;
    if is_control(&inc.path) {
        return control::control(&inner, &inc).await;
    }
    let resp = inner.serve(&inc).await;
    inner.traffic.record(&inc, &resp);
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
        let fault = self.traffic.fault(inc).await;
        match fault {
            Some(rule) if rule.after_write => {
                let _carried_out = self.serve_api(inc).await;
                fault_response(&rule, &inc.path)
            }
            Some(rule) => fault_response(&rule, &inc.path),
            None => self.serve_api(inc).await,
        }
    }

    async fn serve_api(self: &Arc<Self>, inc: &Incoming) -> Response {
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
            ["", "2010-04-01", "Accounts", account, "Calls.json"] => {
                self.serve_calls(inc, account, None).await
            }
            ["", "2010-04-01", "Accounts", account, "Calls", call] => {
                self.serve_calls(inc, account, Some(call)).await
            }
            ["", "v1", rest @ ..] => self.serve_event_streams(inc, rest),
            ["", "2010-04-01", "Accounts", account, "Messages.json"] => {
                self.serve_messages(inc, account)
            }
            _ => not_found(&inc.path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_normalize() {
        assert_eq!(normalize_phone("+1 555 010-0001"), "+15550100001");
    }
}
