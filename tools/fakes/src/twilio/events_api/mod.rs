//! Event Streams REST API on the Twilio fake (Sinks and Subscriptions, as in Twilio's
//! Events v1 API). In reality it lives on `events.twilio.com`; the fake serves it on the
//! same port as Studio.
//!
//! * `POST /v1/Sinks` (form `Description`, `SinkType` `kinesis|webhook|segment|email`,
//!   `SinkConfiguration` as a JSON string) → 201 with status `active` (sinks are active by
//!   default in the current docs); a kinesis configuration without `arn`, `role_arn` or
//!   `external_id` → 400 with code 91000;
//! * `GET /v1/Sinks` (paged, key `sinks`, filters `InUse`, `Status`), `GET /v1/Sinks/{DG}`,
//!   `POST /v1/Sinks/{DG}` (`Description` only);
//! * `POST /v1/Subscriptions` (`Description`, `SinkSid`, `Types` repeated, each a JSON object
//!   string `{"type": ..., "schema_version": n}`; a JSON array in one field is refused the way
//!   Twilio refuses it) → 201; `GET /v1/Subscriptions[?SinkSid=]` (key `subscriptions`),
//!   `GET /v1/Subscriptions/{DF}`;
//! * `GET /v1/Subscriptions/{DF}/SubscribedEvents` (key `types`) and `POST` (`Type`,
//!   `SchemaVersion`) → 201.
//!
//! Sinks and subscriptions only exist here: where the fake's CloudEvents go is still decided
//! by [`super::EventSink`]. `sinks` and `subscriptions` hold the routes of each.

mod sinks;
mod subscriptions;

use std::sync::Mutex;

use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Inner, TwilioHandle, not_found, twilio_error};
use crate::util::{self, Incoming, lock, now_ms};

/// A sink as seen by tests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SinkRecord {
    pub sid: String,
    pub description: String,
    pub sink_type: String,
    pub sink_configuration: Value,
    pub status: String,
}

/// One event type of a subscription.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscribedEventRecord {
    #[serde(rename = "type")]
    pub event_type: String,
    pub schema_version: u64,
}

/// A subscription as seen by tests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionRecord {
    pub sid: String,
    pub sink_sid: String,
    pub description: String,
    pub types: Vec<SubscribedEventRecord>,
}

#[derive(Default)]
pub(super) struct EventStreams {
    pub(super) state: Mutex<State>,
}

#[derive(Default)]
pub(super) struct State {
    pub(super) sinks: Vec<Stamped<SinkRecord>>,
    pub(super) subscriptions: Vec<Stamped<SubscriptionRecord>>,
}

pub(super) struct Stamped<T> {
    pub(super) record: T,
    pub(super) created_ms: u64,
    pub(super) updated_ms: u64,
}

impl<T> Stamped<T> {
    pub(super) fn new(record: T) -> Self {
        let now = now_ms();
        Self {
            record,
            created_ms: now,
            updated_ms: now,
        }
    }
}

impl TwilioHandle {
    /// Every Event Streams sink, oldest first.
    pub fn sinks(&self) -> Vec<SinkRecord> {
        let st = lock(&self.inner.event_streams.state);
        st.sinks.iter().map(|s| s.record.clone()).collect()
    }

    /// Every Event Streams subscription, oldest first.
    pub fn subscriptions(&self) -> Vec<SubscriptionRecord> {
        let st = lock(&self.inner.event_streams.state);
        st.subscriptions.iter().map(|s| s.record.clone()).collect()
    }

    /// Sets a sink's status (`initialized`, `validating`, `active`, `failed`), e.g. to see
    /// what a client does with a sink that is not active. Returns false for an unknown sink.
    pub fn set_sink_status(&self, sink_sid: &str, status: &str) -> bool {
        let mut st = lock(&self.inner.event_streams.state);
        match st.sinks.iter_mut().find(|s| s.record.sid == sink_sid) {
            Some(s) => {
                s.record.status = status.to_owned();
                s.updated_ms = now_ms();
                true
            }
            None => false,
        }
    }
}

impl Inner {
    /// Routes under `/v1`. `rest` is the path after `/v1`.
    pub(super) fn serve_event_streams(&self, inc: &Incoming, rest: &[&str]) -> Response {
        match (inc.method.as_str(), rest) {
            ("POST", ["Sinks"]) => self.create_sink(inc),
            ("GET", ["Sinks"]) => self.list_sinks(inc),
            ("GET", ["Sinks", dg]) => {
                let st = lock(&self.event_streams.state);
                match st.sinks.iter().find(|s| s.record.sid == *dg) {
                    Some(s) => util::json(200, &self.sink_resource(s), &[]),
                    None => not_found(&inc.path),
                }
            }
            ("POST", ["Sinks", dg]) => self.update_sink(inc, dg),
            ("POST", ["Subscriptions"]) => self.create_subscription(inc),
            ("GET", ["Subscriptions"]) => self.list_subscriptions(inc),
            ("GET", ["Subscriptions", df]) => {
                let st = lock(&self.event_streams.state);
                match st.subscriptions.iter().find(|s| s.record.sid == *df) {
                    Some(s) => util::json(200, &self.subscription_resource(s), &[]),
                    None => not_found(&inc.path),
                }
            }
            ("GET", ["Subscriptions", df, "SubscribedEvents"]) => self.list_subscribed(inc, df),
            ("POST", ["Subscriptions", df, "SubscribedEvents"]) => self.add_subscribed(inc, df),
            (_, ["Sinks" | "Subscriptions"] | ["Sinks" | "Subscriptions", _])
            | (_, ["Subscriptions", _, "SubscribedEvents"]) => {
                twilio_error(405, 20004, "Method not allowed", &[])
            }
            _ => not_found(&inc.path),
        }
    }

    pub(super) fn events_url(&self, path: &str) -> String {
        format!("{}/v1/{path}", self.base_url)
    }
}
