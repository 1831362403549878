//! Event Streams subscriptions: create one for a sink with its event types, list, fetch,
//! and list and add subscribed event types.

use axum::response::Response;
use serde_json::{Value, json};

use super::{Stamped, SubscribedEventRecord, SubscriptionRecord};
use crate::twilio::{
    Inner, form, invalid, not_found, paging, param, twilio_error, unparsable_form,
};
use crate::util::{self, Incoming, iso_seconds, lock, now_ms, sid};

/// Latest schema version of the event types the fake knows; other `com.twilio.*` types are
/// accepted with version 1.
const LATEST_SCHEMAS: &[(&str, u64)] = &[
    ("com.twilio.studio.flow.execution.started", 2),
    ("com.twilio.studio.flow.execution.ended", 2),
    ("com.twilio.studio.flow.step.ended", 1),
];

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
    pub(super) fn subscription_resource(&self, s: &Stamped<SubscriptionRecord>) -> Value {
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

    pub(super) fn create_subscription(&self, inc: &Incoming) -> Response {
        let Some(pairs) = form(inc) else {
            return unparsable_form();
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

    pub(super) fn list_subscriptions(&self, inc: &Incoming) -> Response {
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
            &paging::page(&self.base_url, inc, "subscriptions", items, &filters),
            &[],
        )
    }

    pub(super) fn list_subscribed(&self, inc: &Incoming, df: &str) -> Response {
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
            &paging::page(&self.base_url, inc, "types", items, &[]),
            &[],
        )
    }

    pub(super) fn add_subscribed(&self, inc: &Incoming, df: &str) -> Response {
        let Some(pairs) = form(inc) else {
            return unparsable_form();
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
