//! The DynamoDB table: escalations and marks.
//!
//! One table, partition key `pk` (S):
//! - `esc#<incident sys_id>`: the escalation as JSON in `doc` (layout in `doc.rs`), with
//!   `version` (N) for optimistic concurrency, plus `status`, `phase`, `updated_at` for
//!   queries and sweeping;
//! - marks, each expiring via `ttl`, in the one key layout of [`mark_key`]: `evt#<CloudEvent
//!   id>` a processed event, `upd#<update key>` an update written, `sig#<hash>` a trigger
//!   signature already used, `inb#…` the inbound line's steps.
//!
//! ACTIVE escalations also carry `active = "ACTIVE"`, indexed by the sparse GSI
//! `active-index` (hash `active`, range `updated_at`) for the sweeper.

use super::doc;
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use escalation_core::escalation::{Escalation, Phase, Status};
use escalation_core::model::SysId;
use escalation_core::ports::{
    ActiveScan, Created, EscalationRepo, Mark, Marks, RepoError, Stored, Unreadable,
};
use std::collections::HashMap;

pub const KEY: &str = "pk";
pub const TTL_ATTRIBUTE: &str = "ttl";
/// Sparse index of escalations still ACTIVE (partition `active`, sort `updated_at`): the
/// sweeper reads only these, never the marks.
pub const ACTIVE_INDEX: &str = "active-index";
pub const ACTIVE_ATTRIBUTE: &str = "active";

type Item = HashMap<String, AttributeValue>;

#[derive(Clone, Debug)]
pub struct DynamoRepo {
    client: Client,
    table: String,
}

fn esc_key(sys_id: &SysId) -> AttributeValue {
    AttributeValue::S(format!("esc#{sys_id}"))
}

/// Where each kind of mark lives in the table.
pub fn mark_key(mark: &Mark) -> String {
    match mark {
        Mark::Event(id) => format!("evt#{id}"),
        Mark::Update(key) => format!("upd#{key}"),
        Mark::Signature(signature) => format!("sig#{}", crate::signing::short_hash(signature)),
        Mark::RecordingSent(sid) => format!("inb#rec#{sid}#sent"),
        Mark::RecordingDiscarded(sid) => format!("inb#rec#{sid}#discarded"),
        Mark::CallTaken { parent, index } => format!("inb#acc#{parent}#{index}"),
        Mark::Creating(correlation) => format!("inb#new#{correlation}"),
        Mark::Transcription(sid) => format!("inb#tr#{sid}"),
        Mark::BridgeOpened {
            escalation_id,
            attempt,
        } => format!("brg#open#{escalation_id}#{attempt}"),
    }
}

pub(crate) fn aws<E>(e: aws_sdk_dynamodb::error::SdkError<E>) -> RepoError
where
    E: std::error::Error + std::fmt::Debug + 'static,
{
    RepoError::Unavailable(format!(
        "DynamoDB: {}",
        aws_sdk_dynamodb::error::DisplayErrorContext(&e)
    ))
}

fn corrupt(e: impl std::fmt::Display) -> RepoError {
    RepoError::Corrupt(e.to_string())
}

/// A conditional put that failed because its condition did not hold.
pub(crate) fn condition_failed<R>(
    e: &aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::put_item::PutItemError, R>,
) -> bool {
    e.as_service_error()
        .is_some_and(|s| s.is_conditional_check_failed_exception())
}

impl DynamoRepo {
    pub fn new(client: Client, table: &str) -> Self {
        DynamoRepo {
            client,
            table: table.to_string(),
        }
    }

    fn item(esc: &Escalation, version: u64) -> Result<Item, RepoError> {
        let doc = doc::to_json(esc).map_err(corrupt)?;
        let phase = match esc.current().map(|a| a.phase) {
            Some(Phase::Dialing) => "DIALING",
            Some(Phase::Calling) => "CALLING",
            None => "NONE",
        };
        let status = serde_json::to_value(esc.status())
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let active = (esc.status() == Status::Active).then(|| {
            (
                ACTIVE_ATTRIBUTE.to_string(),
                AttributeValue::S("ACTIVE".into()),
            )
        });
        let s = AttributeValue::S;
        let n = |v: u64| AttributeValue::N(v.to_string());
        Ok([
            (KEY.to_string(), esc_key(&esc.incident().sys_id)),
            ("version".into(), n(version)),
            ("doc".into(), s(doc)),
            ("status".into(), s(status)),
            ("phase".into(), s(phase.into())),
            ("escalation_id".into(), s(esc.id().to_string())),
            ("incident_number".into(), s(esc.incident().number.clone())),
            ("updated_at".into(), n(esc.updated_at())),
        ]
        .into_iter()
        .chain(active)
        .collect())
    }

    fn parse(item: &Item) -> Result<Stored, RepoError> {
        let text = item
            .get("doc")
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| corrupt("no doc attribute"))?;
        let version = item
            .get("version")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| corrupt("no version attribute"))?;
        let escalation = doc::from_json(text).map_err(corrupt)?;
        Ok(Stored {
            escalation,
            version,
        })
    }

    async fn get(&self, key: AttributeValue) -> Result<Option<Item>, RepoError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, key)
            .consistent_read(true)
            .send()
            .await
            .map_err(aws)?;
        Ok(out.item)
    }
}

#[async_trait]
impl EscalationRepo for DynamoRepo {
    async fn create(&self, esc: &Escalation) -> Result<Created, RepoError> {
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
            Err(e) if condition_failed(&e) => match self.load(&esc.incident().sys_id).await? {
                Some(existing) => Ok(Created::Existing(existing)),
                None => Err(RepoError::Unavailable(
                    "conditional put failed but no item found".into(),
                )),
            },
            Err(e) => Err(aws(e)),
        }
    }

    async fn load(&self, sys_id: &SysId) -> Result<Option<Stored>, RepoError> {
        self.get(esc_key(sys_id))
            .await?
            .as_ref()
            .map(Self::parse)
            .transpose()
    }

    async fn save(&self, esc: &Escalation, expected: u64) -> Result<u64, RepoError> {
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
            Err(e) if condition_failed(&e) => Err(RepoError::Conflict { expected }),
            Err(e) => Err(aws(e)),
        }
    }

    async fn active(&self) -> Result<ActiveScan, RepoError> {
        let mut out = ActiveScan::default();
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
                let key = item.get(KEY).and_then(|v| v.as_s().ok());
                let Some(sys_id) = key
                    .and_then(|k| k.strip_prefix("esc#"))
                    .and_then(|k| SysId::parse(k).ok())
                else {
                    out.unreadable.push(Unreadable {
                        key: key.cloned().unwrap_or_default(),
                        problem: "not the key of an escalation".into(),
                    });
                    continue;
                };
                // The index may lag the table: re-read consistently before acting.
                match self.load(&sys_id).await {
                    Ok(Some(stored)) if stored.escalation.status() == Status::Active => {
                        out.escalations.push(stored)
                    }
                    Ok(_) => {}
                    Err(RepoError::Corrupt(problem)) => out.unreadable.push(Unreadable {
                        key: format!("esc#{sys_id}"),
                        problem,
                    }),
                    Err(e) => return Err(e),
                }
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }
}

#[async_trait]
impl Marks for DynamoRepo {
    async fn has(&self, mark: &Mark) -> Result<bool, RepoError> {
        Ok(self.get(AttributeValue::S(mark_key(mark))).await?.is_some())
    }

    async fn put(&self, mark: &Mark, ttl_secs: u64) -> Result<bool, RepoError> {
        let expires = crate::clock::now_ms() / 1000 + ttl_secs;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY, AttributeValue::S(mark_key(mark)))
            .item(TTL_ATTRIBUTE, AttributeValue::N(expires.to_string()))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", KEY)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(aws(e)),
        }
    }
}
