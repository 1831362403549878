//! Event Streams REST API on the Twilio fake (Twilio's Event Streams v1 API and its
//! OpenAPI spec, twilio_events_v1.json). In reality it lives on `events.twilio.com`; the fake serves it on
//! the same port as Studio.
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
//! by [`super::EventSink`].

use std::sync::Mutex;

use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{Inner, TwilioHandle, form, invalid, not_found, param, twilio_error};
use crate::util::{self, Incoming, iso_seconds, lock, now_ms, sid};

/// Latest schema version of the event types the fake knows; other `com.twilio.*` types are
/// accepted with version 1.
const LATEST_SCHEMAS: &[(&str, u64)] = &[
    ("com.twilio.studio.flow.execution.started", 2),
    ("com.twilio.studio.flow.execution.ended", 2),
    ("com.twilio.studio.flow.step.ended", 1),
];

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
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    sinks: Vec<Stamped<SinkRecord>>,
    subscriptions: Vec<Stamped<SubscriptionRecord>>,
}

struct Stamped<T> {
    record: T,
    created_ms: u64,
    updated_ms: u64,
}

impl<T> Stamped<T> {
    fn new(record: T) -> Self {
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

fn sink_not_created(reason: &str) -> Response {
    twilio_error(
        400,
        91000,
        &format!("Sink could not be created: {reason}"),
        &[],
    )
}

/// Checks the configuration of a sink type; `Err` is the reason.
fn check_sink_configuration(sink_type: &str, config: &Map<String, Value>) -> Result<(), String> {
    let required: &[&str] = match sink_type {
        "kinesis" => &["arn", "role_arn", "external_id"],
        "webhook" => &["destination", "method"],
        "segment" => &["write_key"],
        _ => &[],
    };
    for key in required {
        match config.get(*key) {
            Some(Value::String(s)) if !s.trim().is_empty() => {}
            _ => return Err(format!("SinkConfiguration.{key} is required")),
        }
    }
    if sink_type == "kinesis" {
        let arn = config.get("arn").and_then(Value::as_str).unwrap_or("");
        if !(arn.starts_with("arn:aws") && arn.contains(":kinesis:") && arn.contains(":stream/")) {
            return Err(format!(
                "SinkConfiguration.arn {arn:?} is not a Kinesis stream ARN"
            ));
        }
        let role = config.get("role_arn").and_then(Value::as_str).unwrap_or("");
        if !(role.starts_with("arn:aws") && role.contains(":iam::") && role.contains(":role/")) {
            return Err(format!(
                "SinkConfiguration.role_arn {role:?} is not an IAM role ARN"
            ));
        }
    }
    Ok(())
}

/// One `Types` value: a JSON object `{"type": "...", "schema_version": n?}`.
fn parse_type(index: usize, raw: &str) -> Result<SubscribedEventRecord, Box<Response>> {
    let missing = || {
        Box::new(invalid(&format!(
            "Missing required input parameter event_types[{index}].type"
        )))
    };
    let value: Value = serde_json::from_str(raw).map_err(|_| {
        Box::new(invalid(&format!(
            "Types[{index}] must be a JSON object like {{\"type\": \"com.twilio...\"}}"
        )))
    })?;
    let Some(obj) = value.as_object() else {
        return Err(missing());
    };
    let Some(event_type) = obj.get("type").and_then(Value::as_str) else {
        return Err(missing());
    };
    let version = match obj.get("schema_version") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) => Some(n),
            None => {
                return Err(Box::new(invalid(&format!(
                    "event_types[{index}].schema_version must be an integer"
                ))));
            }
        },
    };
    resolve_type(event_type, version)
}

/// Applies the default (latest) schema version and checks the type exists.
fn resolve_type(
    event_type: &str,
    version: Option<u64>,
) -> Result<SubscribedEventRecord, Box<Response>> {
    if !event_type.starts_with("com.twilio.") {
        return Err(Box::new(invalid(&format!(
            "Event type {event_type} does not exist"
        ))));
    }
    let latest = LATEST_SCHEMAS
        .iter()
        .find(|(t, _)| *t == event_type)
        .map_or(1, |(_, v)| *v);
    let schema_version = version.unwrap_or(latest);
    if schema_version == 0 || schema_version > latest {
        return Err(Box::new(invalid(&format!(
            "Schema version {schema_version} of event type {event_type} does not exist (latest: {latest})"
        ))));
    }
    Ok(SubscribedEventRecord {
        event_type: event_type.to_owned(),
        schema_version,
    })
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

    fn events_url(&self, path: &str) -> String {
        format!("{}/v1/{path}", self.base_url)
    }

    fn sink_resource(&self, s: &Stamped<SinkRecord>) -> Value {
        let r = &s.record;
        let url = self.events_url(&format!("Sinks/{}", r.sid));
        json!({
            "status": r.status,
            "sink_configuration": r.sink_configuration,
            "description": r.description,
            "sid": r.sid,
            "date_created": iso_seconds(s.created_ms),
            "sink_type": r.sink_type,
            "date_updated": iso_seconds(s.updated_ms),
            "url": url,
            "links": {
                "sink_test": format!("{url}/Test"),
                "sink_validate": format!("{url}/Validate"),
            },
        })
    }

    fn subscription_resource(&self, s: &Stamped<SubscriptionRecord>) -> Value {
        let r = &s.record;
        let url = self.events_url(&format!("Subscriptions/{}", r.sid));
        json!({
            "account_sid": self.cfg.account_sid,
            "date_created": iso_seconds(s.created_ms),
            "date_updated": iso_seconds(s.updated_ms),
            "sid": r.sid,
            "sink_sid": r.sink_sid,
            "description": r.description,
            "url": url,
            "links": {"subscribed_events": format!("{url}/SubscribedEvents")},
        })
    }

    fn subscribed_resource(&self, subscription_sid: &str, t: &SubscribedEventRecord) -> Value {
        json!({
            "account_sid": self.cfg.account_sid,
            "type": t.event_type,
            "schema_version": t.schema_version,
            "subscription_sid": subscription_sid,
            "url": self.events_url(&format!(
                "Subscriptions/{subscription_sid}/SubscribedEvents/{}",
                t.event_type
            )),
        })
    }

    fn create_sink(&self, inc: &Incoming) -> Response {
        let Some(pairs) = form(inc) else {
            return invalid(
                "Unable to parse the request body as application/x-www-form-urlencoded",
            );
        };
        let get = |name: &str| param(&pairs, name).filter(|v| !v.trim().is_empty());
        let missing = |name: &str| {
            invalid(&format!(
                "Missing required parameter {name} in the post body"
            ))
        };
        let Some(description) = get("Description") else {
            return missing("Description");
        };
        let Some(sink_type) = get("SinkType") else {
            return missing("SinkType");
        };
        let Some(raw_config) = get("SinkConfiguration") else {
            return missing("SinkConfiguration");
        };
        if !["kinesis", "webhook", "segment", "email"].contains(&sink_type) {
            return invalid("SinkType must be one of: kinesis, webhook, segment, email");
        }
        let config = match serde_json::from_str::<Value>(raw_config) {
            Ok(Value::Object(m)) => m,
            _ => return sink_not_created("SinkConfiguration must be a JSON object"),
        };
        if let Err(reason) = check_sink_configuration(sink_type, &config) {
            return sink_not_created(&reason);
        }
        let sink = Stamped::new(SinkRecord {
            sid: sid("DG"),
            description: description.to_owned(),
            sink_type: sink_type.to_owned(),
            sink_configuration: Value::Object(config),
            status: "active".to_owned(),
        });
        let body = self.sink_resource(&sink);
        lock(&self.event_streams.state).sinks.push(sink);
        util::json(201, &body, &[])
    }

    fn list_sinks(&self, inc: &Incoming) -> Response {
        let q = inc.query_pairs();
        let in_use = match param(&q, "InUse") {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(_) => return invalid("InUse must be true or false"),
        };
        let status = param(&q, "Status");
        let st = lock(&self.event_streams.state);
        let items: Vec<Value> = st
            .sinks
            .iter()
            .filter(|s| {
                in_use.is_none_or(|want| {
                    st.subscriptions
                        .iter()
                        .any(|sub| sub.record.sink_sid == s.record.sid)
                        == want
                })
            })
            .filter(|s| status.is_none_or(|want| s.record.status == want))
            .map(|s| self.sink_resource(s))
            .collect();
        let mut filters = Vec::new();
        if let Some(v) = in_use {
            filters.push(("InUse", v.to_string()));
        }
        if let Some(v) = status {
            filters.push(("Status", v.to_owned()));
        }
        util::json(
            200,
            &super::paging::page(&self.base_url, inc, "sinks", items, &filters),
            &[],
        )
    }

    fn update_sink(&self, inc: &Incoming, dg: &str) -> Response {
        let Some(pairs) = form(inc) else {
            return invalid(
                "Unable to parse the request body as application/x-www-form-urlencoded",
            );
        };
        let Some(description) = param(&pairs, "Description").filter(|d| !d.trim().is_empty())
        else {
            return invalid("Missing required parameter Description in the post body");
        };
        let mut st = lock(&self.event_streams.state);
        let Some(sink) = st.sinks.iter_mut().find(|s| s.record.sid == dg) else {
            return not_found(&inc.path);
        };
        sink.record.description = description.to_owned();
        sink.updated_ms = now_ms();
        util::json(200, &self.sink_resource(sink), &[])
    }

    fn create_subscription(&self, inc: &Incoming) -> Response {
        let Some(pairs) = form(inc) else {
            return invalid(
                "Unable to parse the request body as application/x-www-form-urlencoded",
            );
        };
        let Some(description) = param(&pairs, "Description").filter(|d| !d.trim().is_empty())
        else {
            return invalid("Missing required parameter Description in the post body");
        };
        let Some(sink_sid) = param(&pairs, "SinkSid") else {
            return invalid("Missing required parameter SinkSid in the post body");
        };
        let raw_types: Vec<&str> = pairs
            .iter()
            .filter(|(k, _)| k == "Types")
            .map(|(_, v)| v.as_str())
            .collect();
        if raw_types.is_empty() {
            return invalid("Missing required parameter Types in the post body");
        }
        let mut types: Vec<SubscribedEventRecord> = Vec::new();
        for (i, raw) in raw_types.iter().enumerate() {
            match parse_type(i, raw) {
                Ok(t) if types.iter().any(|x| x.event_type == t.event_type) => {
                    return invalid(&format!("Event type {} is listed twice", t.event_type));
                }
                Ok(t) => types.push(t),
                Err(resp) => return *resp,
            }
        }
        let mut st = lock(&self.event_streams.state);
        match st.sinks.iter().find(|s| s.record.sid == sink_sid) {
            None => {
                return twilio_error(404, 20404, &format!("Sink {sink_sid} was not found"), &[]);
            }
            Some(s) if s.record.status != "active" => {
                return invalid(&format!(
                    "Sink {sink_sid} is {}; a sink must be active to be subscribed to",
                    s.record.status
                ));
            }
            Some(_) => {}
        }
        let sub = Stamped::new(SubscriptionRecord {
            sid: sid("DF"),
            sink_sid: sink_sid.to_owned(),
            description: description.to_owned(),
            types,
        });
        let body = self.subscription_resource(&sub);
        st.subscriptions.push(sub);
        util::json(201, &body, &[])
    }

    fn list_subscriptions(&self, inc: &Incoming) -> Response {
        let q = inc.query_pairs();
        let sink = param(&q, "SinkSid");
        let st = lock(&self.event_streams.state);
        let items: Vec<Value> = st
            .subscriptions
            .iter()
            .filter(|s| sink.is_none_or(|want| s.record.sink_sid == want))
            .map(|s| self.subscription_resource(s))
            .collect();
        let filters: Vec<(&str, String)> = sink
            .map(|v| vec![("SinkSid", v.to_owned())])
            .unwrap_or_default();
        util::json(
            200,
            &super::paging::page(&self.base_url, inc, "subscriptions", items, &filters),
            &[],
        )
    }

    fn list_subscribed(&self, inc: &Incoming, df: &str) -> Response {
        let st = lock(&self.event_streams.state);
        let Some(sub) = st.subscriptions.iter().find(|s| s.record.sid == df) else {
            return not_found(&inc.path);
        };
        let items: Vec<Value> = sub
            .record
            .types
            .iter()
            .map(|t| self.subscribed_resource(df, t))
            .collect();
        util::json(
            200,
            &super::paging::page(&self.base_url, inc, "types", items, &[]),
            &[],
        )
    }

    fn add_subscribed(&self, inc: &Incoming, df: &str) -> Response {
        let Some(pairs) = form(inc) else {
            return invalid(
                "Unable to parse the request body as application/x-www-form-urlencoded",
            );
        };
        let Some(event_type) = param(&pairs, "Type") else {
            return invalid("Missing required parameter Type in the post body");
        };
        let version = match param(&pairs, "SchemaVersion").map(str::parse::<u64>) {
            None => None,
            Some(Ok(v)) => Some(v),
            Some(Err(_)) => return invalid("SchemaVersion must be an integer"),
        };
        let t = match resolve_type(event_type, version) {
            Ok(t) => t,
            Err(resp) => return *resp,
        };
        let mut st = lock(&self.event_streams.state);
        let Some(sub) = st.subscriptions.iter_mut().find(|s| s.record.sid == df) else {
            return not_found(&inc.path);
        };
        if sub
            .record
            .types
            .iter()
            .any(|x| x.event_type == t.event_type)
        {
            return invalid(&format!(
                "Event type {} is already part of subscription {df}",
                t.event_type
            ));
        }
        sub.record.types.push(t.clone());
        sub.updated_ms = now_ms();
        util::json(201, &self.subscribed_resource(df, &t), &[])
    }
}
