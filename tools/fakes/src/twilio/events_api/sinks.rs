//! Event Streams sinks: create (with the configuration checks Twilio makes), list, fetch
//! and update.

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::{SinkRecord, Stamped};
use crate::twilio::{
    Inner, form, invalid, not_found, paging, param, twilio_error, unparsable_form,
};
use crate::util::{self, Incoming, iso_seconds, lock, now_ms, sid};

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

impl Inner {
    pub(super) fn sink_resource(&self, s: &Stamped<SinkRecord>) -> Value {
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

    pub(super) fn create_sink(&self, inc: &Incoming) -> Response {
        let Some(pairs) = form(inc) else {
            return unparsable_form();
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

    pub(super) fn list_sinks(&self, inc: &Incoming) -> Response {
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
            &paging::page(&self.base_url, inc, "sinks", items, &filters),
            &[],
        )
    }

    pub(super) fn update_sink(&self, inc: &Incoming, dg: &str) -> Response {
        let Some(pairs) = form(inc) else {
            return unparsable_form();
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
}
