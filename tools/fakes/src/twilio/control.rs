//! Control routes (no auth, not recorded) under `/__fake/...`: script agents, list and
//! complete executions, read events and the provisioning state, read and clear the
//! recorded requests, add and clear faults.

use std::sync::Arc;

use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AgentStep, Inner, TwilioHandle};
use crate::traffic::{control_body, control_error, control_segments};
use crate::util::{self, Incoming};

#[derive(Deserialize)]
struct AgentScript {
    phone: String,
    steps: Vec<AgentStep>,
}

pub(super) async fn control(inner: &Arc<Inner>, inc: &Incoming) -> Response {
    let handle = TwilioHandle {
        inner: Arc::clone(inner),
    };
    let segs = control_segments(&inc.path);
    if let Some(resp) = inner.traffic.control(inc, &segs) {
        return resp;
    }
    match (inc.method.as_str(), segs.as_slice()) {
        ("POST", ["agents"]) => match control_body::<AgentScript>(inc, "agent script") {
            Ok(s) => {
                handle.script(&s.phone, s.steps);
                util::response(204, None, "", &[])
            }
            Err(resp) => *resp,
        },
        ("GET", ["executions"]) => util::json(200, &json!(handle.executions()), &[]),
        ("POST", ["executions", sid, "complete"]) => match handle.complete(sid).await {
            Some(ev) => util::json(200, &ev, &[]),
            None => control_error(404, "no such active execution"),
        },
        ("GET", ["hangups"]) => util::json(200, &json!(handle.hang_ups()), &[]),
        ("GET", ["messages"]) => util::json(200, &json!(handle.messages()), &[]),
        ("GET", ["events"]) => util::json(200, &Value::Array(handle.events()), &[]),
        ("GET", ["flows"]) => util::json(200, &json!(handle.flows()), &[]),
        ("GET", ["sinks"]) => util::json(200, &json!(handle.sinks()), &[]),
        ("GET", ["subscriptions"]) => util::json(200, &json!(handle.subscriptions()), &[]),
        _ => control_error(404, "unknown control route"),
    }
}
