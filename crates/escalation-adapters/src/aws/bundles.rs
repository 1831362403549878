//! Bundles in the escalations table: `bun#<E.164 number>` holds the bundle a person's
//! number gathers (or its last one) as JSON in `doc`, with `version` (N) for conditional
//! writes and `ttl` (N, unix seconds, a day after the bundle's window ends).

use super::dynamo::{KEY, TTL_ATTRIBUTE, aws, condition_failed};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use escalation_core::bundle::{Bundle, BundleStore, StoredBundle};
use escalation_core::model::E164;
use escalation_core::ports::RepoError;

/// How long a bundle's item outlives its window.
const KEEP_SECS: u64 = 24 * 3600;

#[derive(Clone, Debug)]
pub struct DynamoBundles {
    client: Client,
    table: String,
}

impl DynamoBundles {
    pub fn new(client: Client, table: &str) -> Self {
        DynamoBundles {
            client,
            table: table.to_string(),
        }
    }
}

fn key(phone: &E164) -> AttributeValue {
    AttributeValue::S(format!("bun#{}", phone.as_str()))
}

fn corrupt(phone: &E164, problem: impl std::fmt::Display) -> RepoError {
    RepoError::Corrupt(format!("bundle bun#{}: {problem}", phone.masked()))
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

#[async_trait]
impl BundleStore for DynamoBundles {
    async fn load(&self, phone: &E164) -> Result<Option<StoredBundle>, RepoError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, key(phone))
            .consistent_read(true)
            .send()
            .await
            .map_err(aws)?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let version = item
            .get("version")
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| corrupt(phone, "no version attribute"))?;
        let text = item
            .get("doc")
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| corrupt(phone, "no doc attribute"))?;
        let bundle = serde_json::from_str(text).map_err(|e| corrupt(phone, e))?;
        Ok(Some(StoredBundle { bundle, version }))
    }

    async fn save(&self, bundle: &Bundle, expected: u64) -> Result<(), RepoError> {
        let doc = serde_json::to_string(bundle).map_err(|e| corrupt(&bundle.phone, e))?;
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY, key(&bundle.phone))
            .item("version", n(expected + 1))
            .item("doc", AttributeValue::S(doc))
            .item(TTL_ATTRIBUTE, n(bundle.closes_at / 1000 + KEEP_SECS));
        let put = if expected == 0 {
            put.condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", KEY)
        } else {
            put.condition_expression("#v = :expected")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":expected", n(expected))
        };
        match put.send().await {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(RepoError::Conflict { expected }),
            Err(e) => Err(aws(e)),
        }
    }
}
