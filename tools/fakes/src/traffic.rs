//! What both fakes keep about their traffic: every request served on the API routes, and
//! the faults to inject into the next ones. Also the control routes under `/__fake/...`
//! that both serve the same way (`requests`, `faults`), and the handle methods on them.

use std::time::Duration;

use axum::response::Response;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::fault::{FaultRule, FaultSet};
use crate::record::Recorder;
use crate::util::{self, Incoming};

#[derive(Debug, Default)]
pub(crate) struct Traffic {
    pub(crate) recorder: Recorder,
    pub(crate) faults: FaultSet,
}

impl Traffic {
    /// The fault rule matching the request, if any, once its delay has passed. `None` too
    /// for a rule that only delays (status 0): the fake then answers as usual.
    pub(crate) async fn fault(&self, inc: &Incoming) -> Option<FaultRule> {
        let rule = self.faults.take(&inc.method, &inc.path)?;
        if rule.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(rule.delay_ms)).await;
        }
        (rule.status != 0).then_some(rule)
    }

    /// Records a request served on the API routes with the status it was answered.
    pub(crate) fn record(&self, inc: &Incoming, resp: &Response) {
        self.recorder.push(inc.record(resp.status().as_u16()));
    }

    /// The control routes both fakes serve: `GET|DELETE /__fake/requests` and
    /// `POST|DELETE /__fake/faults`. `None` for any other route.
    pub(crate) fn control(&self, inc: &Incoming, segs: &[&str]) -> Option<Response> {
        Some(match (inc.method.as_str(), segs) {
            ("GET", ["requests"]) => util::json(200, &json!(self.recorder.all()), &[]),
            ("DELETE", ["requests"]) => {
                self.recorder.clear();
                util::response(204, None, "", &[])
            }
            ("POST", ["faults"]) => match control_body::<FaultRule>(inc, "fault rule") {
                Ok(rule) => {
                    self.faults.add(rule.clone());
                    util::json(201, &json!(rule), &[])
                }
                Err(resp) => *resp,
            },
            ("DELETE", ["faults"]) => {
                self.faults.clear();
                util::response(204, None, "", &[])
            }
            _ => return None,
        })
    }
}

/// Is `path` a control route (`/__fake` or below)?
pub(crate) fn is_control(path: &str) -> bool {
    path == "/__fake" || path.starts_with("/__fake/")
}

/// The segments of a control route after `/__fake`.
pub(crate) fn control_segments(path: &str) -> Vec<&str> {
    path.trim_end_matches('/').split('/').skip(2).collect()
}

/// A control route's JSON body; a 400 naming `what` if it is not one.
pub(crate) fn control_body<T: DeserializeOwned>(
    inc: &Incoming,
    what: &str,
) -> Result<T, Box<Response>> {
    serde_json::from_slice(&inc.body)
        .map_err(|e| Box::new(control_error(400, &format!("invalid {what}: {e}"))))
}

/// A control route's error answer.
pub(crate) fn control_error(status: u16, message: &str) -> Response {
    util::json(status, &json!({ "error": message }), &[])
}

/// The handle methods over [`Traffic`] (at `self.inner.traffic`) that both fakes offer.
macro_rules! traffic_controls {
    ($handle:ty) => {
        impl $handle {
            /// Every request served on the API routes (not `/__fake`), in arrival order.
            pub fn requests(&self) -> Vec<$crate::record::RecordedRequest> {
                self.inner.traffic.recorder.all()
            }

            /// Forgets recorded requests.
            pub fn clear_requests(&self) {
                self.inner.traffic.recorder.clear();
            }

            /// Adds a fault rule.
            pub fn inject(&self, rule: $crate::fault::FaultRule) {
                self.inner.traffic.faults.add(rule);
            }

            /// Removes all fault rules.
            pub fn clear_faults(&self) {
                self.inner.traffic.faults.clear();
            }
        }
    };
}

pub(crate) use traffic_controls;
