//! The ServiceNow update queue (SQS FIFO): the outbox between the call path and ServiceNow,
//! so a ServiceNow outage never blocks a call (DESIGN §4).
//!
//! FIFO with `MessageGroupId = incident sys_id` keeps each incident's notes in order, and
//! `MessageDeduplicationId = update key` drops re-sends within SQS's 5-minute window; the
//! updater's own idempotency marks cover the rest.

use crate::domain::SnUpdate;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use std::future::Future;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("SQS: {0}")]
    Aws(String),
}

pub trait UpdateQueue: Send + Sync {
    fn enqueue(&self, updates: &[SnUpdate]) -> impl Future<Output = Result<(), QueueError>> + Send;
}

#[derive(Clone, Debug)]
pub struct SqsQueue {
    client: Client,
    url: String,
}

impl SqsQueue {
    pub fn new(client: Client, url: &str) -> Self {
        SqsQueue {
            client,
            url: url.to_string(),
        }
    }
}

/// SQS ids allow only `[A-Za-z0-9_-]`, up to 80 (entry id) / 128 (dedup id) characters.
fn sqs_id(key: &str) -> String {
    crate::signature::short_hash(key)
}

impl UpdateQueue for SqsQueue {
    async fn enqueue(&self, updates: &[SnUpdate]) -> Result<(), QueueError> {
        for chunk in updates.chunks(10) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (i, u) in chunk.iter().enumerate() {
                let body = serde_json::to_string(u).map_err(|e| QueueError::Aws(e.to_string()))?;
                entries.push(
                    SendMessageBatchRequestEntry::builder()
                        .id(format!("m{i}"))
                        .message_body(body)
                        .message_group_id(&u.sys_id)
                        .message_deduplication_id(sqs_id(&u.key))
                        .build()
                        .map_err(|e| QueueError::Aws(e.to_string()))?,
                );
            }
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| {
                    QueueError::Aws(aws_sdk_sqs::error::DisplayErrorContext(&e).to_string())
                })?;
            if let Some(f) = out.failed.first() {
                return Err(QueueError::Aws(format!(
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
