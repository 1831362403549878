//! Twilio Event Streams CloudEvents, as they arrive in Kinesis records.
//!
//! One CloudEvents 1.0 JSON document per record; `data` is an object or a JSON string;
//! `time` and `datacontenttype` may be missing or odd.

use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

pub const EXECUTION_ENDED: &str = "com.twilio.studio.flow.execution.ended";

/// A Kinesis event as Lambda delivers it, read leniently: `data` stays a string so that
/// one undecodable record is skipped instead of failing the whole batch.
#[derive(Debug, Deserialize)]
pub struct KinesisBatch {
    #[serde(rename = "Records", default)]
    pub records: Vec<KinesisBatchRecord>,
}

#[derive(Debug, Deserialize)]
pub struct KinesisBatchRecord {
    #[serde(rename = "eventID", default)]
    pub event_id: Option<String>,
    pub kinesis: KinesisPayload,
}

#[derive(Debug, Deserialize)]
pub struct KinesisPayload {
    #[serde(rename = "sequenceNumber")]
    pub sequence_number: String,
    #[serde(default)]
    pub data: Value,
    #[serde(rename = "partitionKey", default)]
    pub partition_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("record data is not a base64 string")]
    NotBase64,
    #[error("record is not a JSON object: {0}")]
    NotJson(String),
    #[error("CloudEvent field `{0}` is missing or not a string")]
    MissingField(&'static str),
    #[error("CloudEvent `data` is neither an object nor a JSON string holding one")]
    BadData,
    #[error(
        "CloudEvent id is {0} bytes long; Twilio's are short, and one this long cannot be remembered"
    )]
    IdTooLong(usize),
}

/// The longest CloudEvent id accepted. Twilio's ids are a few dozen characters; the limit
/// keeps an id well inside what the table can use as a key.
pub const MAX_EVENT_ID_BYTES: usize = 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct CloudEvent {
    pub id: String,
    pub event_type: String,
    pub source: Option<String>,
    pub time: Option<String>,
    pub data: serde_json::Map<String, Value>,
}

/// The fields of `com.twilio.studio.flow.execution.ended` that matter here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionEnded {
    pub execution_sid: String,
    pub flow_sid: String,
    pub account_sid: Option<String>,
    pub contact_channel_address: Option<String>,
    pub ended_reason: Option<String>,
}

impl KinesisPayload {
    /// The record's bytes, base64-decoded.
    pub fn bytes(&self) -> Result<Vec<u8>, DecodeError> {
        let text = self.data.as_str().ok_or(DecodeError::NotBase64)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| DecodeError::NotBase64)
    }
}

/// Decode one record's bytes into a CloudEvent.
pub fn decode(bytes: &[u8]) -> Result<CloudEvent, DecodeError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| DecodeError::NotJson(e.to_string()))?;
    let obj = value
        .as_object()
        .ok_or_else(|| DecodeError::NotJson("top level is not an object".into()))?;
    let text = |key: &'static str| obj.get(key).and_then(Value::as_str).map(str::to_string);
    let id = text("id")
        .filter(|s| !s.is_empty())
        .ok_or(DecodeError::MissingField("id"))?;
    if id.len() > MAX_EVENT_ID_BYTES {
        return Err(DecodeError::IdTooLong(id.len()));
    }
    let event_type = text("type").ok_or(DecodeError::MissingField("type"))?;
    let data = match obj.get("data") {
        Some(Value::Object(map)) => map.clone(),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(map)) => map,
            _ => return Err(DecodeError::BadData),
        },
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(_) => return Err(DecodeError::BadData),
    };
    Ok(CloudEvent {
        id,
        event_type,
        source: text("source"),
        time: text("time"),
        data,
    })
}

impl CloudEvent {
    /// The execution-ended payload, if this is that event type.
    pub fn execution_ended(&self) -> Option<Result<ExecutionEnded, DecodeError>> {
        if self.event_type != EXECUTION_ENDED {
            return None;
        }
        let field = |k: &str| self.data.get(k).and_then(Value::as_str).map(str::to_string);
        Some((|| {
            Ok(ExecutionEnded {
                execution_sid: field("execution_sid")
                    .ok_or(DecodeError::MissingField("data.execution_sid"))?,
                flow_sid: field("flow_sid").ok_or(DecodeError::MissingField("data.flow_sid"))?,
                account_sid: field("account_sid"),
                contact_channel_address: field("contact_channel_address"),
                ended_reason: field("ended_reason"),
            })
        })())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC_EXAMPLE: &str = r#"{
  "specversion" : "1.0",
  "type" : "com.twilio.studio.flow.execution.ended",
  "source" : "AB00000000000000000000000001",
  "id" : "NO00000000000000000000000001",
  "dataschema" : "https://events-schemas.twilio.com/Studio.FlowExecutionEvent/2",
  "datacontenttype" : "2025-10-08T07:17:02.363Z",
  "data" : {
    "execution_sid" : "FN0000000000000000000000000000001",
    "account_sid" : "AC0000000000000000000000000000001",
    "flow_sid" : "FW0000000000000000000000000000001",
    "contact_channel_address" : "+11234567890",
    "status" : "ended",
    "ended_reason" : "FLOW_END",
    "date_created" : "2025-01-01T00:00:00.000Z",
    "date_updated" : "2025-01-01T00:00:01.000Z",
    "started_by" : "CA0000000000000000000000000000001",
    "flow_revision" : 1196
  }
}"#;

    #[test]
    fn decodes_the_documented_example_without_time() {
        let ev = decode(DOC_EXAMPLE.as_bytes()).unwrap();
        assert_eq!(ev.id, "NO00000000000000000000000001");
        assert_eq!(ev.time, None);
        let ended = ev.execution_ended().unwrap().unwrap();
        assert_eq!(ended.execution_sid, "FN0000000000000000000000000000001");
        assert_eq!(ended.flow_sid, "FW0000000000000000000000000000001");
        assert_eq!(ended.ended_reason.as_deref(), Some("FLOW_END"));
    }

    #[test]
    fn data_may_be_a_json_string() {
        let v: Value = serde_json::from_str(DOC_EXAMPLE).unwrap();
        let mut obj = v.as_object().unwrap().clone();
        let data = obj["data"].to_string();
        obj.insert("data".into(), Value::String(data));
        let ev = decode(Value::Object(obj).to_string().as_bytes()).unwrap();
        assert_eq!(
            ev.execution_ended().unwrap().unwrap().execution_sid,
            "FN0000000000000000000000000000001"
        );
    }

    #[test]
    fn quickstart_test_event_is_not_execution_ended() {
        let t = r#"{"specversion":"1.0","type":"com.twilio.eventstreams.test-event","source":"Sink","id":"AC1234567890123456789012","dataschema":"https://events-schemas.twilio.com/EventStreams.TestSink/1.json","datacontenttype":"application/json","time":"2020-08-18T21:10:02.113Z","data":"{\"test_id\":\"95001c1e-5b8e-45f5-830d-f9cbf1d16420\"}"}"#;
        let ev = decode(t.as_bytes()).unwrap();
        assert_eq!(ev.data["test_id"], "95001c1e-5b8e-45f5-830d-f9cbf1d16420");
        assert!(ev.execution_ended().is_none());
    }

    #[test]
    fn garbage_is_a_decode_error() {
        assert!(matches!(decode(b"\xff\xfe"), Err(DecodeError::NotJson(_))));
        assert!(matches!(decode(b"[1,2]"), Err(DecodeError::NotJson(_))));
        assert_eq!(
            decode(br#"{"type":"x"}"#),
            Err(DecodeError::MissingField("id"))
        );
        assert_eq!(
            decode(br#"{"id":"1","type":"x","data":"not json"}"#),
            Err(DecodeError::BadData)
        );
        assert_eq!(
            decode(br#"{"id":"1","type":"x","data":7}"#),
            Err(DecodeError::BadData)
        );
        let ev = decode(br#"{"id":"1","type":"com.twilio.studio.flow.execution.ended","data":{}}"#)
            .unwrap();
        assert_eq!(
            ev.execution_ended().unwrap(),
            Err(DecodeError::MissingField("data.execution_sid"))
        );
    }

    #[test]
    fn base64_is_decoded_per_record() {
        let batch: KinesisBatch = serde_json::from_str(
            r#"{"Records":[{"eventID":"shardId-000000000000:1","kinesis":{"sequenceNumber":"1","partitionKey":"k","data":"eyJpZCI6IjEiLCJ0eXBlIjoieCJ9"}},
                          {"kinesis":{"sequenceNumber":"2","data":"%%%not base64"}},
                          {"kinesis":{"sequenceNumber":"3","data":12}}]}"#,
        )
        .unwrap();
        assert_eq!(
            decode(&batch.records[0].kinesis.bytes().unwrap())
                .unwrap()
                .id,
            "1"
        );
        assert_eq!(
            batch.records[1].kinesis.bytes(),
            Err(DecodeError::NotBase64)
        );
        assert_eq!(
            batch.records[2].kinesis.bytes(),
            Err(DecodeError::NotBase64)
        );
    }
}
