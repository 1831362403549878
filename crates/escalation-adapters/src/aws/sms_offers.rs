//! Open SMS offers in the escalations table: `sms#<E.164 number>` says which escalation and
//! attempt a reply from that number refers to. One item per number (the newest offer wins),
//! written conditionally (one text per person per escalation), with `expires` (N, unix ms)
//! checked on every read and `ttl` (N, unix seconds) for DynamoDB to delete it later.

use super::dynamo::{KEY, TTL_ATTRIBUTE};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use escalation_core::messaging::{SmsOffer, SmsOffers};
use escalation_core::model::{E164, EscalationId, SysId};
use escalation_core::ports::RepoError;
use std::collections::HashMap;

#[derive(Clone, Debug)]
pub struct DynamoSmsOffers {
    client: Client,
    table: String,
}

impl DynamoSmsOffers {
    pub fn new(client: Client, table: &str) -> Self {
        DynamoSmsOffers {
            client,
            table: table.to_string(),
        }
    }
}

fn key(phone: &E164) -> AttributeValue {
    AttributeValue::S(format!("sms#{}", phone.as_str()))
}

fn unavailable(e: impl std::error::Error + 'static) -> RepoError {
    RepoError::Unavailable(format!(
        "DynamoDB: {}",
        aws_sdk_dynamodb::error::DisplayErrorContext(&e)
    ))
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn read(phone: &E164, item: &HashMap<String, AttributeValue>) -> Result<SmsOffer, RepoError> {
    let text = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .ok_or_else(|| RepoError::Corrupt(format!("SMS offer without {name}")))
    };
    let number = |name: &str| -> Result<u64, RepoError> {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| RepoError::Corrupt(format!("SMS offer without a number {name}")))
    };
    Ok(SmsOffer {
        phone: phone.clone(),
        sys_id: SysId::parse(&text("sys_id")?).map_err(|e| RepoError::Corrupt(e.to_string()))?,
        escalation_id: EscalationId::new(text("escalation_id")?),
        incident_number: text("incident_number")?,
        attempt: number("attempt")? as u32,
        person: text("person")?,
        language: item.get("language").and_then(|v| v.as_s().ok()).cloned(),
        expires_at: number("expires")?,
    })
}

#[async_trait]
impl SmsOffers for DynamoSmsOffers {
    async fn open(&self, offer: &SmsOffer, now_ms: u64) -> Result<bool, RepoError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY, key(&offer.phone))
            .item("sys_id", s(offer.sys_id.as_str()))
            .item("escalation_id", s(offer.escalation_id.as_str()))
            .item("incident_number", s(&offer.incident_number))
            .item("attempt", n(offer.attempt.into()))
            .item("person", s(&offer.person))
            .item("expires", n(offer.expires_at))
            .item(TTL_ATTRIBUTE, n(offer.expires_at / 1000 + 60))
            .condition_expression(
                "attribute_not_exists(#pk) OR escalation_id <> :esc OR expires <= :now",
            )
            .expression_attribute_names("#pk", KEY)
            .expression_attribute_values(":esc", s(offer.escalation_id.as_str()))
            .expression_attribute_values(":now", n(now_ms));
        if let Some(language) = &offer.language {
            put = put.item("language", s(language));
        }
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn find(&self, phone: &E164, now_ms: u64) -> Result<Option<SmsOffer>, RepoError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, key(phone))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let offer = read(phone, &item)?;
        Ok((offer.expires_at > now_ms).then_some(offer))
    }

    async fn close(&self, phone: &E164, escalation_id: &EscalationId) -> Result<(), RepoError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(KEY, key(phone))
            .condition_expression("escalation_id = :esc")
            .expression_attribute_values(":esc", s(escalation_id.as_str()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Already closed, or another escalation's offer now: nothing to do.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(unavailable(e)),
        }
    }
}
