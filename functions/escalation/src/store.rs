//! DynamoDB escalation store (DESIGN §4).
//!
//! One table, partition key `pk` (S):
//! - `esc#<incident sys_id>`: the escalation as JSON in `doc`, with `version` (N) for
//!   optimistic concurrency, plus `status`, `phase`, `updated_at` for queries and sweeping;
//! - `evt#<CloudEvent id>`: a processed event, expires via `ttl`;
//! - `upd#<update key>`: a ServiceNow update applied, expires via `ttl`;
//! - `sig#<hash>`: a trigger signature already used (replay protection), expires via `ttl`.
//!
//! ACTIVE escalations also carry `active = "ACTIVE"`, indexed by the sparse GSI
//! `active-index` (hash `active`, range `updated_at`) for the sweeper.

use crate::domain::{Escalation, Phase};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use std::future::Future;

pub const KEY: &str = "pk";
pub const TTL_ATTRIBUTE: &str = "ttl";
/// Sparse index of escalations still ACTIVE (partition `active`, sort `updated_at`): the
/// sweeper reads only these, never the idempotency marks.
pub const ACTIVE_INDEX: &str = "active-index";
pub const ACTIVE_ATTRIBUTE: &str = "active";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("escalation changed concurrently (expected version {expected})")]
    Conflict { expected: u64 },
    #[error("DynamoDB: {0}")]
    Aws(String),
    #[error("stored escalation is unreadable: {0}")]
    Corrupt(String),
}

impl crate::retry::Transient for StoreError {
    fn is_transient(&self) -> bool {
        matches!(self, StoreError::Aws(_))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub escalation: Escalation,
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    New(Stored),
    /// An escalation for this incident already existed: nothing was written.
    Existing(Stored),
}

/// Persistence for escalations and idempotency marks.
pub trait EscalationStore: Send + Sync {
    /// Write a new escalation unless one exists for the incident.
    fn create(&self, esc: &Escalation) -> impl Future<Output = Result<Created, StoreError>> + Send;
    fn load(&self, sys_id: &str)
    -> impl Future<Output = Result<Option<Stored>, StoreError>> + Send;
    /// Conditional write: succeeds only if the stored version is `expected`; returns the new version.
    fn save(
        &self,
        esc: &Escalation,
        expected: u64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// Whether an idempotency mark exists (events: `evt#id`, updates: `upd#key`).
    fn has_mark(&self, mark: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Record a mark that expires after `ttl_secs`. Returns false if it already existed.
    fn put_mark(
        &self,
        mark: &str,
        ttl_secs: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Every escalation still ACTIVE (for the sweeper).
    fn active(&self) -> impl Future<Output = Result<Vec<Stored>, StoreError>> + Send;
}

#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

fn esc_key(sys_id: &str) -> AttributeValue {
    AttributeValue::S(format!("esc#{sys_id}"))
}

fn aws<E>(e: aws_sdk_dynamodb::error::SdkError<E>) -> StoreError
where
    E: std::error::Error + std::fmt::Debug + 'static,
{
    StoreError::Aws(aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string())
}

impl DynamoStore {
    pub fn new(client: Client, table: &str) -> Self {
        DynamoStore {
            client,
            table: table.to_string(),
        }
    }

    fn item(
        esc: &Escalation,
        version: u64,
    ) -> Result<std::collections::HashMap<String, AttributeValue>, StoreError> {
        let doc = serde_json::to_string(esc).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let phase = match esc.current.as_ref().map(|a| a.phase) {
            Some(Phase::Dialing) => "DIALING",
            Some(Phase::Calling) => "CALLING",
            None => "NONE",
        };
        let status = serde_json::to_value(esc.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let active = (esc.status == crate::domain::Status::Active).then(|| {
            (
                ACTIVE_ATTRIBUTE.to_string(),
                AttributeValue::S("ACTIVE".into()),
            )
        });
        Ok([
            (KEY.to_string(), esc_key(&esc.incident.sys_id)),
            ("version".into(), AttributeValue::N(version.to_string())),
            ("doc".into(), AttributeValue::S(doc)),
            ("status".into(), AttributeValue::S(status)),
            ("phase".into(), AttributeValue::S(phase.into())),
            ("escalation_id".into(), AttributeValue::S(esc.id.clone())),
            (
                "incident_number".into(),
                AttributeValue::S(esc.incident.number.clone()),
            ),
            (
                "updated_at".into(),
                AttributeValue::N(esc.updated_at.to_string()),
            ),
        ]
        .into_iter()
        .chain(active)
        .collect())
    }

    fn parse(
        item: &std::collections::HashMap<String, AttributeValue>,
    ) -> Result<Stored, StoreError> {
        let doc = item
            .get("doc")
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| StoreError::Corrupt("no doc attribute".into()))?;
        let version = item
            .get("version")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| StoreError::Corrupt("no version attribute".into()))?;
        let escalation =
            serde_json::from_str(doc).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(Stored {
            escalation,
            version,
        })
    }
}

impl EscalationStore for DynamoStore {
    async fn create(&self, esc: &Escalation) -> Result<Created, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item(esc, 1)?))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", KEY)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Created::New(Stored {
                escalation: esc.clone(),
                version: 1,
            })),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                match self.load(&esc.incident.sys_id).await? {
                    Some(existing) => Ok(Created::Existing(existing)),
                    None => Err(StoreError::Aws(
                        "conditional put failed but no item found".into(),
                    )),
                }
            }
            Err(e) => Err(aws(e)),
        }
    }

    async fn load(&self, sys_id: &str) -> Result<Option<Stored>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, esc_key(sys_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(aws)?;
        out.item.as_ref().map(Self::parse).transpose()
    }

    async fn save(&self, esc: &Escalation, expected: u64) -> Result<u64, StoreError> {
        let next = expected + 1;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item(esc, next)?))
            .condition_expression("#v = :expected")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":expected", AttributeValue::N(expected.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(next),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Err(StoreError::Conflict { expected })
            }
            Err(e) => Err(aws(e)),
        }
    }

    async fn has_mark(&self, mark: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, AttributeValue::S(mark.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(aws)?;
        Ok(out.item.is_some())
    }

    async fn put_mark(&self, mark: &str, ttl_secs: u64) -> Result<bool, StoreError> {
        let expires = crate::clock::now_ms() / 1000 + ttl_secs;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY, AttributeValue::S(mark.to_string()))
            .item(TTL_ATTRIBUTE, AttributeValue::N(expires.to_string()))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", KEY)
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

    async fn active(&self) -> Result<Vec<Stored>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(ACTIVE_INDEX)
                .key_condition_expression("#a = :active")
                .expression_attribute_names("#a", ACTIVE_ATTRIBUTE)
                .expression_attribute_values(":active", AttributeValue::S("ACTIVE".into()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(aws)?;
            for item in page.items() {
                // The index may lag the table: re-read consistently before acting.
                if let Some(sys_id) = item
                    .get(KEY)
                    .and_then(|v| v.as_s().ok())
                    .and_then(|k| k.strip_prefix("esc#"))
                    && let Some(stored) = self.load(sys_id).await?
                    && stored.escalation.status == crate::domain::Status::Active
                {
                    out.push(stored);
                }
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }
}
