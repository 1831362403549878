//! `flow-events`: the Kinesis consumer. Each record is one Twilio Event Streams CloudEvent;
//! `com.twilio.studio.flow.execution.ended` for our flow moves an escalation on.
//!
//! Per record: decode → filter (type, flow SID) → dedupe (event id) → apply → mark.
//! Poison records (bad base64/JSON, missing fields) are logged and skipped; transient
//! failures are reported in `batchItemFailures` so Lambda retries from that record.

use aws_lambda_events::event::streams::KinesisEventResponse;
use escalation_adapters::twilio::event_stream::{
    DecodeError, KinesisBatch, KinesisBatchRecord, decode,
};
use escalation_core::model::ExecutionSid;
use escalation_core::ports::{Metric, Metrics};
use escalation_core::usecase::{Engine, EventOutcome, EventResult};
use futures::stream::{self, StreamExt};
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use std::sync::Arc;

/// The flow-events function.
#[derive(Clone)]
pub struct FlowEvents {
    pub engine: Engine,
    /// Events of other flows are skipped.
    pub flow_sid: String,
    /// Relevant records applied at once.
    pub concurrency: usize,
    pub metrics: Arc<dyn Metrics>,
}

/// What happened to one record (returned for tests and logs).
#[derive(Debug, Clone, PartialEq)]
pub enum RecordOutcome {
    /// The deployment's configuration is at fault (credentials, the flow): reported for
    /// retry like `Failed`, and the invocation fails so that the fault is seen.
    Misconfigured(String),
    Applied(EventResult),
    /// Not for us: other event types, other flows.
    Skipped(String),
    Duplicate,
    Poison(String),
    Failed(String),
}

impl FlowEvents {
    pub async fn handle(
        &self,
        event: LambdaEvent<Value>,
    ) -> Result<KinesisEventResponse, lambda_runtime::Error> {
        let batch: KinesisBatch = serde_json::from_value(event.payload)
            .map_err(|e| format!("not a Kinesis event (check the event source mapping): {e}"))?;
        let mut response = KinesisEventResponse::default();
        let mut counts = [0usize; 5];
        let mut misconfigured: Option<String> = None;
        // Up to FLOW_EVENTS_CONCURRENCY relevant records at once (Twilio creates are
        // rate-limited in the client); the handler returns only when every record's work is
        // done (the demo returned before its requests finished).
        // Decode and filter everything first (cheap, no I/O); the same event twice in one batch
        // is applied once, so copies never race each other.
        let mut seen = std::collections::HashSet::new();
        let prepared: Vec<Result<Relevant, RecordOutcome>> = batch
            .records
            .iter()
            .map(|record| {
                prepare(&self.flow_sid, record).and_then(|r| {
                    if seen.insert(r.event_id.clone()) {
                        Ok(r)
                    } else {
                        Err(RecordOutcome::Duplicate)
                    }
                })
            })
            .collect();
        // Only relevant records take a slot: with a window over all records in order, the
        // skipped ones (most of a batch) would hold slots until the slow record before them
        // finished, and the effective concurrency would fall to a fraction of the setting.
        let mut outcomes: Vec<Option<RecordOutcome>> = Vec::with_capacity(prepared.len());
        let mut relevant = Vec::new();
        for (i, p) in prepared.into_iter().enumerate() {
            match p {
                Ok(r) => {
                    relevant.push((i, r));
                    outcomes.push(None);
                }
                Err(outcome) => outcomes.push(Some(outcome)),
            }
        }
        let applied: Vec<(usize, RecordOutcome)> = stream::iter(relevant)
            .map(|(i, r)| async move { (i, self.apply(&r).await) })
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await;
        for (i, outcome) in applied {
            outcomes[i] = Some(outcome);
        }
        let outcomes = outcomes
            .into_iter()
            .map(|o| o.expect("every record has an outcome"));
        for (record, outcome) in batch.records.iter().zip(outcomes) {
            let i = match &outcome {
                RecordOutcome::Applied(_) => 0,
                RecordOutcome::Skipped(_) => 1,
                RecordOutcome::Duplicate => 2,
                RecordOutcome::Poison(reason) => {
                    tracing::error!(sequence_number = %record.kinesis.sequence_number, reason = %reason, "poison record skipped");
                    3
                }
                RecordOutcome::Failed(reason) => {
                    tracing::warn!(sequence_number = %record.kinesis.sequence_number, reason = %reason, "record failed; Lambda will retry it");
                    response.add_failure(record.kinesis.sequence_number.clone());
                    4
                }
                RecordOutcome::Misconfigured(reason) => {
                    tracing::error!(sequence_number = %record.kinesis.sequence_number, reason = %reason,
                        "record failed on a configuration fault; the invocation fails");
                    misconfigured.get_or_insert(reason.clone());
                    4
                }
            };
            counts[i] += 1;
        }
        tracing::info!(
            records = batch.records.len(),
            applied = counts[0],
            skipped = counts[1],
            duplicates = counts[2],
            poison = counts[3],
            failed = counts[4],
            "batch done"
        );
        self.metrics
            .count("flow-events", Metric::DuplicatesDropped, counts[2]);
        if let Some(reason) = misconfigured {
            // Every record would meet the same fault: fail the invocation so that Lambda's
            // Errors metric (and its alarm) moves; the batch is retried as a whole, which the
            // marks and the escalations' state make harmless.
            return Err(
                format!("configuration fault (Twilio credentials or flow): {reason}").into(),
            );
        }
        Ok(response)
    }

    /// Decode, filter, dedupe and apply one record.
    pub async fn process(&self, record: &KinesisBatchRecord) -> RecordOutcome {
        match prepare(&self.flow_sid, record) {
            Ok(relevant) => self.apply(&relevant).await,
            Err(outcome) => outcome,
        }
    }

    /// Apply an execution-ended event once.
    async fn apply(&self, event: &Relevant) -> RecordOutcome {
        match self
            .engine
            .on_flow_ended(&event.event_id, &event.execution_sid)
            .await
        {
            Ok(EventOutcome::Applied(result)) => RecordOutcome::Applied(result),
            Ok(EventOutcome::Duplicate) => RecordOutcome::Duplicate,
            Err(e) if e.is_configuration() => RecordOutcome::Misconfigured(e.to_string()),
            Err(e) => RecordOutcome::Failed(e.to_string()),
        }
    }
}

/// A record that passed decoding and filtering: an execution-ended event of our flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relevant {
    pub event_id: String,
    pub execution_sid: String,
}

/// Decode and filter one record (no I/O).
pub fn prepare(flow_sid: &str, record: &KinesisBatchRecord) -> Result<Relevant, RecordOutcome> {
    let poison = |e: DecodeError| RecordOutcome::Poison(e.to_string());
    let bytes = record.kinesis.bytes().map_err(poison)?;
    let event = decode(&bytes).map_err(poison)?;
    let ended = match event.execution_ended() {
        None => {
            return Err(RecordOutcome::Skipped(format!(
                "event type {}",
                event.event_type
            )));
        }
        Some(Err(e)) => return Err(poison(e)),
        Some(Ok(ended)) => ended,
    };
    if ended.flow_sid != flow_sid {
        return Err(RecordOutcome::Skipped(format!(
            "flow {} is not ours",
            ended.flow_sid
        )));
    }
    // A SID that cannot be one would fail every retry: skip it as poison.
    if let Err(e) = ExecutionSid::parse(&ended.execution_sid) {
        return Err(RecordOutcome::Poison(format!("data.execution_sid: {e}")));
    }
    Ok(Relevant {
        event_id: event.id,
        execution_sid: ended.execution_sid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use serde_json::json;

    const FLOW: &str = "FW0123456789abcdef0123456789abcdef";

    fn record(id: &str, execution_sid: &str) -> KinesisBatchRecord {
        let event = json!({
            "specversion": "1.0", "type": "com.twilio.studio.flow.execution.ended",
            "source": "x", "id": id,
            "data": {"execution_sid": execution_sid, "flow_sid": FLOW}
        });
        let data = base64::engine::general_purpose::STANDARD.encode(event.to_string());
        serde_json::from_value(json!({
            "eventID": "shardId-000000000000:1",
            "kinesis": {"sequenceNumber": "1", "data": data, "partitionKey": "k"}
        }))
        .unwrap()
    }

    #[test]
    fn a_malformed_execution_sid_is_poison_not_a_retried_failure() {
        let out = prepare(FLOW, &record("EZ01", "FN../../v1/Accounts"));
        assert!(
            matches!(&out, Err(RecordOutcome::Poison(why)) if why.contains("execution SID")),
            "{out:?}"
        );
        assert!(prepare(FLOW, &record("EZ01", "FN0123456789abcdef0123456789abcdef")).is_ok());
    }

    #[test]
    fn an_event_id_over_the_key_limit_is_poison_not_a_retried_failure() {
        let long = "E".repeat(3000);
        let out = prepare(FLOW, &record(&long, "FN0123456789abcdef0123456789abcdef"));
        assert!(
            matches!(&out, Err(RecordOutcome::Poison(why)) if why.contains("id")),
            "{out:?}"
        );
    }
}
