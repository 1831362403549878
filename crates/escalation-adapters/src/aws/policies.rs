//! Stored escalation policies: one document in the escalations table, and the lineup
//! source that reads it.
//!
//! The document lives in the item `pk = "cfg#policies"` (attributes `doc`, `version`,
//! `imported_at`). An import is one conditional PutItem of the whole, validated document:
//! it replaces every policy at once or nothing (never partial), and two imports racing
//! cannot lose one silently (the version must be the one read). The table is the one every
//! function already reads, so storing policies needs no new resource or permission, and a
//! policy of a few kilobytes is far below DynamoDB's 400 KB item limit.
//!
//! The trigger keeps what it read for [`CACHE_SECS`] seconds: an import is used by the
//! incidents that start at most that long after it, with no deploy and no restart.

use super::dynamo::KEY;
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use escalation_core::lineup_source::resolve_in;
use escalation_core::model::Incident;
use escalation_core::policy::PolicySet;
use escalation_core::ports::{LineupError, LineupSource, Resolved};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const POLICY_KEY: &str = "cfg#policies";
/// How long the trigger keeps the stored document before reading it again.
pub const CACHE_SECS: u64 = 30;

/// The stored document as it was imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredDocument {
    pub document: String,
    pub version: u64,
    pub imported_at_ms: u64,
}

#[derive(Clone, Debug)]
pub struct PolicyStore {
    client: Client,
    table: String,
}

fn dynamo<E: std::error::Error + 'static>(e: aws_sdk_dynamodb::error::SdkError<E>) -> String {
    format!(
        "DynamoDB: {}",
        aws_sdk_dynamodb::error::DisplayErrorContext(&e)
    )
}

impl PolicyStore {
    pub fn new(client: Client, table: &str) -> PolicyStore {
        PolicyStore {
            client,
            table: table.to_string(),
        }
    }

    /// The stored document, if one was imported.
    pub async fn load(&self) -> Result<Option<StoredDocument>, String> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, AttributeValue::S(POLICY_KEY.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(dynamo)?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let n = |name: &str| {
            item.get(name)
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let document = item
            .get("doc")
            .and_then(|v| v.as_s().ok())
            .ok_or("the stored policy item has no doc attribute")?
            .clone();
        Ok(Some(StoredDocument {
            document,
            version: n("version"),
            imported_at_ms: n("imported_at"),
        }))
    }

    /// Replace the stored document with `document` (already validated) in one write, if
    /// the stored version is still `expected` (0: none stored). Returns the new version.
    pub async fn import(&self, document: &str, expected: u64, now_ms: u64) -> Result<u64, String> {
        let version = expected + 1;
        let n = |v: u64| AttributeValue::N(v.to_string());
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY, AttributeValue::S(POLICY_KEY.into()))
            .item("doc", AttributeValue::S(document.to_string()))
            .item("version", n(version))
            .item("imported_at", n(now_ms));
        put = if expected == 0 {
            put.condition_expression("attribute_not_exists(#k)")
                .expression_attribute_names("#k", KEY)
        } else {
            put.condition_expression("version = :v")
                .expression_attribute_values(":v", n(expected))
        };
        match put.send().await {
            Ok(_) => Ok(version),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Err("the stored policies changed while importing (another import?); nothing was written, run the import again".into())
            }
            Err(e) => Err(dynamo(e)),
        }
    }
}

impl PolicyStore {
    /// Validate `document` at `now_ms` (the bundled sample refused unless `allow_sample`)
    /// and replace the stored one with it: all of it or, on any error, nothing. Returns the
    /// new version.
    pub async fn import_checked(
        &self,
        document: &str,
        now_ms: u64,
        allow_sample: bool,
    ) -> Result<u64, String> {
        let now = jiff::Timestamp::from_millisecond(now_ms as i64).map_err(|e| e.to_string())?;
        let set = PolicySet::validate(document, now).map_err(|e| e.to_string())?;
        check_sample(&set, allow_sample)?;
        let expected = self.load().await?.map_or(0, |d| d.version);
        self.import(document, expected, now_ms).await
    }
}

/// What was read: the parsed set (none imported: `None`), or why it cannot be used.
type Read = Result<Option<Arc<PolicySet>>, String>;

/// The lineup source over the stored document, cached for [`CACHE_SECS`].
pub struct StoredPolicies {
    store: PolicyStore,
    ttl: Duration,
    /// Whether the bundled sample people may be called (the local stack only).
    allow_sample: bool,
    cache: Mutex<Option<(Instant, Read)>>,
}

impl StoredPolicies {
    pub fn new(store: PolicyStore, allow_sample: bool) -> StoredPolicies {
        StoredPolicies {
            store,
            ttl: Duration::from_secs(CACHE_SECS),
            allow_sample,
            cache: Mutex::new(None),
        }
    }

    /// Read the document again after `ttl` (tests use zero).
    pub fn with_ttl(mut self, ttl: Duration) -> StoredPolicies {
        self.ttl = ttl;
        self
    }

    async fn current(&self) -> Read {
        if let Some((at, value)) = self.cache.lock().unwrap().as_ref()
            && at.elapsed() < self.ttl
        {
            return value.clone();
        }
        let value = match self.store.load().await {
            // Not cached: the next incident asks again.
            Err(e) => return Err(e),
            Ok(None) => Ok(None),
            Ok(Some(doc)) => PolicySet::from_json(&doc.document)
                .map_err(|e| {
                    format!(
                        "the stored document (version {}) is not valid: {e}",
                        doc.version
                    )
                })
                .and_then(|set| {
                    check_sample(&set, self.allow_sample).map(|()| Some(Arc::new(set)))
                }),
        };
        *self.cache.lock().unwrap() = Some((Instant::now(), value.clone()));
        value
    }
}

/// The bundled sample people are fictional: refused, by name, outside the local stack.
pub fn check_sample(set: &PolicySet, allow_sample: bool) -> Result<(), String> {
    let sample = set.sample_people();
    if sample.is_empty() || allow_sample {
        return Ok(());
    }
    Err(format!(
        "the policies call the bundled sample people ({}), whose numbers are fictional; they are refused outside the local stack: replace them with your own people",
        sample.join(", ")
    ))
}

#[async_trait]
impl LineupSource for StoredPolicies {
    fn name(&self) -> &str {
        "stored policies"
    }

    async fn lineup_for(&self, incident: &Incident, at_ms: u64) -> Result<Resolved, LineupError> {
        match self.current().await {
            Ok(Some(set)) => resolve_in(&set, "stored policies", incident, at_ms),
            Ok(None) => Err(LineupError::NoPolicy(
                "no stored policies (none imported with escalation-admin policy import)".into(),
            )),
            Err(e) => Err(LineupError::Unavailable(e)),
        }
    }
}
