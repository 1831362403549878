//! The incident update queue (SQS FIFO): the outbox between the call path and ServiceNow,
//! so a ServiceNow outage never blocks a call.
//!
//! FIFO with `MessageGroupId = incident sys_id` keeps each incident's notes in order, and
//! `MessageDeduplicationId = hash of the update key` drops re-sends within SQS's 5-minute
//! window; the updater's own marks cover the rest.
//!
//! The message body is the update as JSON: `{key, sys_id, incident_number, escalation_id,
//! work_note, state?, assign_to?, assignment_group?}`, with ServiceNow's state value ("2"
//! for In Progress).

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use escalation_core::model::{EscalationId, SysId};
use escalation_core::ports::{Outbox, OutboxError};
use escalation_core::update::{IncidentState, IncidentUpdate};
use serde::{Deserialize, Serialize};

/// The queued message, as every release so far has written it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Message {
    key: String,
    sys_id: SysId,
    incident_number: String,
    escalation_id: EscalationId,
    work_note: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    assign_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    assignment_group: Option<String>,
}

/// ServiceNow's value for an incident state.
fn state_value(state: IncidentState) -> &'static str {
    match state {
        IncidentState::InProgress => "2",
    }
}

/// The message body for an update.
pub fn encode(u: &IncidentUpdate) -> String {
    serde_json::to_string(&Message {
        key: u.key.clone(),
        sys_id: u.sys_id.clone(),
        incident_number: u.incident_number.clone(),
        escalation_id: u.escalation_id.clone(),
        work_note: u.work_note.clone(),
        state: u.state.map(|s| state_value(s).to_string()),
        assign_to: u.assign_to.clone(),
        assignment_group: u.assignment_group.clone(),
    })
    .expect("an update always serialises")
}

/// The update in a message body; the error says what is wrong with it.
pub fn decode(body: &str) -> Result<IncidentUpdate, String> {
    let m: Message = serde_json::from_str(body).map_err(|e| e.to_string())?;
    let state = match m.state.as_deref() {
        None => None,
        Some("2") => Some(IncidentState::InProgress),
        Some(other) => return Err(format!("unknown incident state {other:?}")),
    };
    Ok(IncidentUpdate {
        key: m.key,
        sys_id: m.sys_id,
        incident_number: m.incident_number,
        escalation_id: m.escalation_id,
        work_note: m.work_note,
        state,
        assign_to: m.assign_to,
        assignment_group: m.assignment_group,
    })
}

#[derive(Clone, Debug)]
pub struct SqsOutbox {
    client: Client,
    url: String,
}

impl SqsOutbox {
    pub fn new(client: Client, url: &str) -> Self {
        SqsOutbox {
            client,
            url: url.to_string(),
        }
    }
}

fn error(e: impl std::fmt::Display) -> OutboxError {
    OutboxError(format!("SQS: {e}"))
}

#[async_trait]
impl Outbox for SqsOutbox {
    async fn enqueue(&self, updates: &[IncidentUpdate]) -> Result<(), OutboxError> {
        for chunk in updates.chunks(10) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (i, u) in chunk.iter().enumerate() {
                entries.push(
                    SendMessageBatchRequestEntry::builder()
                        .id(format!("m{i}"))
                        .message_body(encode(u))
                        .message_group_id(u.sys_id.as_str())
                        // SQS ids allow only [A-Za-z0-9_-], up to 128 characters.
                        .message_deduplication_id(crate::signing::short_hash(&u.key))
                        .build()
                        .map_err(error)?,
                );
            }
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| error(aws_sdk_sqs::error::DisplayErrorContext(&e)))?;
            if let Some(f) = out.failed.first() {
                return Err(error(format!(
                    "{} of {} updates not queued: {} {}",
                    out.failed.len(),
                    chunk.len(),
                    f.code,
                    f.message.as_deref().unwrap_or("")
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_of_the_previous_release_decode_and_encode_the_same() {
        for body in [
            include_str!(
                "../../../escalation-core/tests/fixtures/previous_release/accept_update.json"
            ),
            include_str!(
                "../../../escalation-core/tests/fixtures/previous_release/started_update.json"
            ),
            include_str!(
                "../../../escalation-core/tests/fixtures/previous_release/attempt4_update.json"
            ),
        ] {
            let u = decode(body).unwrap();
            assert_eq!(encode(&u), body.trim_end());
        }
        let accept = decode(include_str!(
            "../../../escalation-core/tests/fixtures/previous_release/accept_update.json"
        ))
        .unwrap();
        assert_eq!(accept.state, Some(IncidentState::InProgress));
    }

    #[test]
    fn a_body_that_is_not_an_update_is_named() {
        assert!(decode("{}").unwrap_err().contains("key"));
        let bad_state = include_str!(
            "../../../escalation-core/tests/fixtures/previous_release/accept_update.json"
        )
        .replace(r#""state":"2""#, r#""state":"7""#);
        assert!(decode(&bad_state).unwrap_err().contains("\"7\""));
    }
}
