//! The dial queue (SQS, standard): calls the trigger asks for, placed by escalation-dialer.
//!
//! Order and exactly-once are not the queue's job: the dialer loads the escalation and
//! places the call only while that attempt is due, under its lease, so a message delivered
//! twice, late or out of order places no second call.
//!
//! The message body is `{sys_id, escalation_id, attempt}`.

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use escalation_core::model::{EscalationId, SysId};
use escalation_core::ports::{DialQueue, DialRequest, OutboxError};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Message {
    sys_id: SysId,
    escalation_id: EscalationId,
    attempt: u32,
}

/// The message body for a dial request.
pub fn encode(d: &DialRequest) -> String {
    serde_json::to_string(&Message {
        sys_id: d.sys_id.clone(),
        escalation_id: d.escalation_id.clone(),
        attempt: d.attempt,
    })
    .expect("a dial request always serialises")
}

/// The dial request in a message body; the error says what is wrong with it.
pub fn decode(body: &str) -> Result<DialRequest, String> {
    let m: Message = serde_json::from_str(body).map_err(|e| e.to_string())?;
    if m.attempt == 0 {
        return Err("attempt must be 1 or more".into());
    }
    Ok(DialRequest {
        sys_id: m.sys_id,
        escalation_id: m.escalation_id,
        attempt: m.attempt,
    })
}

#[derive(Clone, Debug)]
pub struct SqsDialQueue {
    client: Client,
    url: String,
}

impl SqsDialQueue {
    pub fn new(client: Client, url: &str) -> Self {
        SqsDialQueue {
            client,
            url: url.to_string(),
        }
    }
}

impl SqsDialQueue {
    /// Send one request, delivered after `delay_secs` (0: at once; at most 900).
    async fn send(&self, dial: &DialRequest, delay_secs: u32) -> Result<(), OutboxError> {
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(encode(dial))
            .delay_seconds(delay_secs.min(900) as i32)
            .send()
            .await
            .map_err(|e| {
                OutboxError(format!(
                    "dial queue (SQS): {}",
                    aws_sdk_sqs::error::DisplayErrorContext(&e)
                ))
            })?;
        Ok(())
    }
}

#[async_trait]
impl DialQueue for SqsDialQueue {
    async fn request(&self, dial: &DialRequest) -> Result<(), OutboxError> {
        self.send(dial, 0).await
    }

    async fn request_after(&self, dial: &DialRequest, delay_secs: u32) -> Result<(), OutboxError> {
        self.send(dial, delay_secs).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_reads_back_as_sent_and_a_bad_body_is_named() {
        let d = DialRequest {
            sys_id: SysId::parse("0123456789abcdef0123456789abcdef").unwrap(),
            escalation_id: EscalationId::new("ESC-0123456789ab"),
            attempt: 2,
        };
        assert_eq!(decode(&encode(&d)).unwrap(), d);
        let bad = decode(r#"{"sys_id":"x","escalation_id":"ESC-0123456789ab","attempt":1}"#);
        assert!(bad.unwrap_err().contains("sys_id"));
        let zero = decode(
            r#"{"sys_id":"0123456789abcdef0123456789abcdef","escalation_id":"ESC-0123456789ab","attempt":0}"#,
        );
        assert_eq!(zero.unwrap_err(), "attempt must be 1 or more");
    }
}
