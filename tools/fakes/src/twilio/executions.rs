//! Studio v2 Executions: creating one (with the 409 and 429 a real account gives), listing,
//! fetching, ending and deleting them, their Context and Steps; and the state behind them.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;

use super::agent::{AgentStep, Script};
use super::errors::too_many_requests;
use super::events::{EXECUTION_ENDED, EXECUTION_SCHEMA, EXECUTION_STARTED};
use super::paging;
use super::walk::Heard;
use super::{
    Inner, form, invalid, normalize_phone, not_found, param, twilio_error, unparsable_form,
};
use crate::util::{self, Incoming, iso_seconds, lock, now_ms, sid};

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
    /// What the person heard, in order (empty until the execution ended by the agent; a call
    /// the engine ended while the person was in the flow keeps what was said to them).
    #[serde(default)]
    pub heard: Vec<Heard>,
    /// The Call SID of the person's call (what Twilio sends as `CallSid` to a URL the call
    /// is handed to).
    #[serde(default)]
    pub call_sid: String,
    /// The URL an `add-twiml-redirect` widget handed the call to, if one ran.
    #[serde(default)]
    pub redirected_to: Option<String>,
    /// How it ended: `"agent"` (simulation or [`TwilioHandle::complete`]), `"api"`
    /// (`POST Status=ended`) or `"hangup"` (its call hung up through the Calls API); `None`
    /// while active.
    pub ended_by: Option<String>,
    /// When it ended (ms since the epoch); `None` while active.
    #[serde(default)]
    pub ended_at_ms: Option<u64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Status {
    Active,
    Ended,
}

impl Status {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Ended => "ended",
        }
    }
}

pub(super) struct Execution {
    pub(super) sid: String,
    pub(super) to: String,
    pub(super) from: String,
    pub(super) parameters: Value,
    pub(super) contact_sid: String,
    pub(super) call_sid: String,
    pub(super) status: Status,
    pub(super) created_ms: u64,
    pub(super) updated_ms: u64,
    pub(super) outcome: Option<AgentStep>,
    pub(super) ended_by: Option<&'static str>,
    /// Widgets that ran (set when the agent step completed).
    pub(super) widgets: Option<Value>,
    /// `flow.variables` set during the walk.
    pub(super) variables: Map<String, Value>,
    pub(super) heard: Vec<Heard>,
    pub(super) redirected_to: Option<String>,
    pub(super) steps: Vec<Value>,
}

impl Execution {
    pub(super) fn record(&self) -> ExecutionRecord {
        ExecutionRecord {
            sid: self.sid.clone(),
            to: self.to.clone(),
            from: self.from.clone(),
            parameters: self.parameters.clone(),
            status: self.status.as_str().to_owned(),
            created_at_ms: self.created_ms,
            outcome: self.outcome.clone(),
            heard: self.heard.clone(),
            call_sid: self.call_sid.clone(),
            redirected_to: self.redirected_to.clone(),
            ended_by: self.ended_by.map(str::to_owned),
            ended_at_ms: (self.status == Status::Ended).then_some(self.updated_ms),
        }
    }
}

#[derive(Default)]
pub(super) struct Sim {
    pub(super) executions: Vec<Execution>,
    pub(super) scripts: HashMap<String, Script>,
    /// Contact SID per normalized `To`.
    pub(super) contacts: HashMap<String, String>,
    /// Creation instants within the last second (rate limit).
    pub(super) creations: VecDeque<Instant>,
    pub(super) events: Vec<Value>,
}

impl Sim {
    pub(super) fn find(&self, sid: &str) -> Option<&Execution> {
        self.executions.iter().find(|e| e.sid == sid)
    }

    pub(super) fn find_mut(&mut self, sid: &str) -> Option<&mut Execution> {
        self.executions.iter_mut().find(|e| e.sid == sid)
    }

    pub(super) fn next_step(&mut self, to: &str) -> AgentStep {
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

impl Inner {
    pub(super) fn execution_url(&self, sid: &str) -> String {
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
                "variables": e.variables,
            },
            "trigger": {"request": {"from": e.from, "to": e.to, "parameters": e.parameters}},
            "contact": {"channel": {"address": e.to}},
        });
        if let (Some(w), Some(obj)) = (&e.widgets, ctx.as_object_mut()) {
            obj.insert("widgets".into(), w.clone());
        }
        ctx
    }

    pub(super) fn create(self: &Arc<Self>, inc: &Incoming) -> Response {
        let Some(pairs) = form(inc) else {
            return unparsable_form();
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
            variables: Map::new(),
            heard: Vec::new(),
            redirected_to: None,
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

    pub(super) fn list(&self, inc: &Incoming) -> Response {
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
        let (page_size, page) = paging::page_params(&q);
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
                "meta": paging::meta("executions", page, page_size, has_next, page_url),
                "executions": items,
            }),
            &[],
        )
    }

    pub(super) fn fetch(&self, sid: &str, path: &str) -> Response {
        let st = lock(&self.state);
        match st.find(sid) {
            Some(e) => util::json(200, &self.resource(e), &[]),
            None => not_found(path),
        }
    }

    pub(super) async fn update(&self, inc: &Incoming, sid: &str) -> Response {
        let Some(pairs) = form(inc) else {
            return unparsable_form();
        };
        let Some(status) = param(&pairs, "Status") else {
            return invalid("Missing required parameter Status in the post body");
        };
        let (ack_tx, ack_rx) = oneshot::channel();
        // Told once the ended event is delivered; dropped (nothing to wait for) when the
        // execution was not active.
        let mut ack = Some(ack_tx);
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
                        ack.take(),
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
        drop(ack);
        // Deliver the ended event before answering, as a real sink would see it soon after.
        let _ = ack_rx.await;
        util::json(200, &body, &[])
    }

    pub(super) fn delete(&self, sid: &str, path: &str) -> Response {
        let mut st = lock(&self.state);
        let before = st.executions.len();
        st.executions.retain(|e| e.sid != sid);
        if st.executions.len() == before {
            return not_found(path);
        }
        util::response(204, None, "", &[])
    }

    pub(super) fn context(&self, sid: &str, path: &str) -> Response {
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

    pub(super) fn steps(&self, sid: &str, path: &str) -> Response {
        let st = lock(&self.state);
        let Some(e) = st.find(sid) else {
            return not_found(path);
        };
        let url = format!("{}{path}?PageSize=50&Page=0", self.base_url);
        util::json(
            200,
            &json!({
                "meta": paging::meta("steps", 0, 50, false, |_| url.clone()),
                "steps": e.steps,
            }),
            &[],
        )
    }
}
