//! Event Streams side of the Twilio fake: CloudEvents 1.0 envelopes (as Twilio documents
//! them) and delivery to a Kinesis stream, as a Twilio Kinesis sink would.

use std::time::Duration;

use aws_sdk_kinesis::primitives::Blob;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use crate::util::{iso_millis, now_ms, sid};

/// Where emitted CloudEvents go (besides [`super::TwilioHandle::events`]).
#[derive(Clone, Debug, Default)]
pub enum EventSink {
    /// Keep events in memory only.
    #[default]
    None,
    /// `PutRecord` each event (one CloudEvent JSON per record, partition key = execution SID)
    /// onto `stream_name`. Failed puts are logged and retried a few times with backoff.
    Kinesis {
        client: aws_sdk_kinesis::Client,
        stream_name: String,
    },
}

pub(crate) const EXECUTION_STARTED: &str = "com.twilio.studio.flow.execution.started";
pub(crate) const EXECUTION_ENDED: &str = "com.twilio.studio.flow.execution.ended";
pub(crate) const STEP_ENDED: &str = "com.twilio.studio.flow.step.ended";
pub(crate) const EXECUTION_SCHEMA: &str =
    "https://events-schemas.twilio.com/Studio.FlowExecutionEvent/2";
pub(crate) const STEP_SCHEMA: &str = "https://events-schemas.twilio.com/Studio.FlowStepEvent/1";

/// Builds a CloudEvent. `data_as_string` renders `data` as a JSON string (Kinesis quickstart
/// form) instead of an object.
pub(crate) fn cloud_event(
    event_type: &str,
    source: &str,
    dataschema: &str,
    data: Value,
    data_as_string: bool,
) -> Value {
    let data = if data_as_string {
        Value::String(data.to_string())
    } else {
        data
    };
    json!({
        "specversion": "1.0",
        "type": event_type,
        "source": source,
        "id": sid("EZ"),
        "dataschema": dataschema,
        "datacontenttype": "application/json",
        "time": iso_millis(now_ms()),
        "data": data,
    })
}

/// One event to deliver; the optional sender is signalled once delivery finished (or failed).
pub(crate) type Delivery = (String, Value, Option<oneshot::Sender<()>>);

/// Starts the single forwarding task of a Kinesis sink (one task keeps emission order).
pub(crate) fn spawn_kinesis_forwarder(
    client: aws_sdk_kinesis::Client,
    stream_name: String,
) -> mpsc::UnboundedSender<Delivery> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Delivery>();
    tokio::spawn(async move {
        while let Some((partition_key, event, ack)) = rx.recv().await {
            put_with_retries(&client, &stream_name, &partition_key, &event).await;
            if let Some(ack) = ack {
                let _ = ack.send(());
            }
        }
    });
    tx
}

const PUT_ATTEMPTS: u32 = 5;

async fn put_with_retries(
    client: &aws_sdk_kinesis::Client,
    stream_name: &str,
    partition_key: &str,
    event: &Value,
) {
    let bytes = event.to_string().into_bytes();
    let id = event.get("id").and_then(Value::as_str).unwrap_or_default();
    for attempt in 1..=PUT_ATTEMPTS {
        let result = client
            .put_record()
            .stream_name(stream_name)
            .partition_key(partition_key)
            .data(Blob::new(bytes.clone()))
            .send()
            .await;
        match result {
            Ok(_) => {
                tracing::debug!(event_id = id, stream = stream_name, "event put on Kinesis");
                return;
            }
            Err(e) if attempt < PUT_ATTEMPTS => {
                tracing::warn!(event_id = id, attempt, error = %e, "Kinesis put failed, retrying");
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
            Err(e) => {
                tracing::error!(event_id = id, error = %e, "Kinesis put failed, event dropped");
            }
        }
    }
}
