//! The bridge's status callbacks in the escalations table: one item per conference,
//! `brg#<ConferenceSid>`, whose list `ev` holds each callback once (`seq|kind|CallSid|ms`)
//! and whose string set `seqs` the sequence numbers kept. One conditional UpdateItem per
//! callback: a redelivered one (same `SequenceNumber`) fails the condition and is not
//! kept twice. Expires a week after the last callback.

use super::dynamo::{KEY, TTL_ATTRIBUTE, aws};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use escalation_core::bridge::{BridgeEvent, BridgeEventKind};
use escalation_core::ports::{BridgeLog, RepoError};

const TTL_SECS: u64 = 7 * 24 * 3600;

#[derive(Clone, Debug)]
pub struct DynamoBridgeLog {
    client: Client,
    table: String,
}

impl DynamoBridgeLog {
    pub fn new(client: Client, table: &str) -> Self {
        DynamoBridgeLog {
            client,
            table: table.to_string(),
        }
    }
}

fn key(conference: &str) -> AttributeValue {
    AttributeValue::S(format!("brg#{conference}"))
}

fn encode(e: &BridgeEvent) -> String {
    format!("{}|{}|{}|{}", e.seq, e.kind.label(), e.call_sid, e.at_ms)
}

fn decode(text: &str) -> Option<BridgeEvent> {
    let mut parts = text.splitn(4, '|');
    Some(BridgeEvent {
        seq: parts.next()?.parse().ok()?,
        kind: BridgeEventKind::from_label(parts.next()?)?,
        call_sid: parts.next()?.to_owned(),
        at_ms: parts.next()?.parse().ok()?,
    })
}

#[async_trait]
impl BridgeLog for DynamoBridgeLog {
    async fn record(&self, conference: &str, event: &BridgeEvent) -> Result<bool, RepoError> {
        let expires = crate::clock::now_ms() / 1000 + TTL_SECS;
        let seq = event.seq.to_string();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY, key(conference))
            .update_expression(
                "SET ev = list_append(if_not_exists(ev, :empty), :one), #ttl = :ttl ADD seqs :seqs",
            )
            .condition_expression("attribute_not_exists(seqs) OR NOT contains(seqs, :seq)")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":empty", AttributeValue::L(Vec::new()))
            .expression_attribute_values(
                ":one",
                AttributeValue::L(vec![AttributeValue::S(encode(event))]),
            )
            .expression_attribute_values(":ttl", AttributeValue::N(expires.to_string()))
            .expression_attribute_values(":seqs", AttributeValue::Ss(vec![seq.clone()]))
            .expression_attribute_values(":seq", AttributeValue::S(seq))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(aws(e)),
        }
    }

    async fn events(&self, conference: &str) -> Result<Vec<BridgeEvent>, RepoError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, key(conference))
            .consistent_read(true)
            .send()
            .await
            .map_err(aws)?
            .item
            .unwrap_or_default();
        Ok(match item.get("ev") {
            Some(AttributeValue::L(list)) => list
                .iter()
                .filter_map(|v| v.as_s().ok())
                .filter_map(|s| decode(s))
                .collect(),
            _ => Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip() {
        let e = BridgeEvent {
            seq: 3,
            kind: BridgeEventKind::Leave,
            call_sid: "CA1".into(),
            at_ms: 42,
        };
        assert_eq!(decode(&encode(&e)), Some(e));
        assert_eq!(decode("x|join|CA|1"), None);
    }
}
