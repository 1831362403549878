//! The ServiceNow Table API client: PATCH and create incidents, look up users and
//! incidents, read work notes back. Responses are classified in `response`.

use super::auth::{Auth, Credentials};
use super::phone_match::{phone_like_fragments, phone_matches};
pub use super::response::{SnError, classify};
use crate::retry::{RetryPolicy, Transient, parse_retry_after};
use escalation_core::model::{E164, SysId};
use escalation_core::ports::{DirectoryUser, IncidentRecord};
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;

/// Only a 429 is known not to have been processed, or a failed token request (the POST was
/// not sent): the errors a POST may repeat.
#[derive(Debug)]
struct PostError(SnError);

impl std::fmt::Display for PostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Transient for PostError {
    fn is_transient(&self) -> bool {
        matches!(
            self.0,
            SnError::RateLimited { .. } | SnError::OAuthUnavailable(_)
        )
    }
    fn retry_after(&self) -> Option<Duration> {
        self.0.retry_after()
    }
}

fn str_of(row: &Value, field: &str) -> String {
    row.get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn incident_record(row: &Value) -> Option<IncidentRecord> {
    Some(IncidentRecord {
        sys_id: SysId::parse(&str_of(row, "sys_id")).ok()?,
        number: str_of(row, "number"),
        priority: str_of(row, "priority"),
    })
}

/// The incident fields a write reads back.
const FIELDS: &str = "sys_id,number,state,assigned_to,assignment_group";

/// Clones share the OAuth token.
#[derive(Clone)]
pub struct SnClient {
    http: reqwest::Client,
    base_url: String,
    auth: Arc<Auth>,
    retry: RetryPolicy,
}

impl std::fmt::Debug for SnClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnClient")
            .field("base_url", &self.base_url)
            .field("credentials", &self.auth.credentials)
            .finish_non_exhaustive()
    }
}

impl SnClient {
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        credentials: Credentials,
        retry: RetryPolicy,
    ) -> Self {
        SnClient {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            auth: Arc::new(Auth::new(credentials)),
            retry,
        }
    }

    /// The credentials the client signs in with.
    pub fn credentials(&self) -> &Credentials {
        &self.auth.credentials
    }

    fn table(&self, table: &str) -> String {
        format!("{}/api/now/table/{table}", self.base_url)
    }

    /// One request, signed in. A bearer token the instance refuses (401) is replaced once
    /// and the request sent once more (a 401 was not processed, so a POST may repeat too).
    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Value, SnError> {
        let again = req.try_clone();
        let (signed, bearer) = self
            .auth
            .sign(req, &self.http, &self.base_url, None)
            .await?;
        let first = self.exchange(signed).await;
        match (&first, bearer, again) {
            (Err(SnError::Api { status: 401, .. }), Some(stale), Some(again)) => {
                tracing::info!("ServiceNow refused the OAuth token; asking for a new one");
                let (signed, _) = self
                    .auth
                    .sign(again, &self.http, &self.base_url, Some(&stale))
                    .await?;
                self.exchange(signed).await
            }
            _ => first,
        }
    }

    async fn exchange(&self, req: reqwest::RequestBuilder) -> Result<Value, SnError> {
        let resp = req
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| SnError::Transport(e.without_url().to_string()))?;
        let status = resp.status().as_u16();
        let retry_after = parse_retry_after(resp.headers().get(reqwest::header::RETRY_AFTER));
        let is_json = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json"));
        let body = resp
            .bytes()
            .await
            .map_err(|e| SnError::Transport(e.without_url().to_string()))?;
        classify(status, retry_after, is_json, &body)
    }

    async fn list(
        &self,
        table: &str,
        query: &str,
        fields: &str,
        limit: u32,
    ) -> Result<Vec<Value>, SnError> {
        let limit = limit.to_string();
        let params = [
            ("sysparm_query", query),
            ("sysparm_fields", fields),
            ("sysparm_limit", limit.as_str()),
            ("sysparm_exclude_reference_link", "true"),
        ];
        let v = self
            .retry
            .run(|| self.send(self.http.get(self.table(table)).query(&params)))
            .await?;
        match v.get("result") {
            Some(Value::Array(rows)) => Ok(rows.clone()),
            _ => Err(SnError::Decode {
                status: 200,
                detail: "`result` is not a list".into(),
            }),
        }
    }
}

/// Encoded-query values must not smuggle operators.
fn query_safe(s: &str) -> bool {
    !s.is_empty() && !s.contains('^') && !s.contains('=') && s.len() <= 100
}

impl SnClient {
    /// PATCH `incident/{sys_id}` with `fields`; returns the updated record.
    pub async fn patch_incident(
        &self,
        sys_id: &SysId,
        fields: &Map<String, Value>,
    ) -> Result<Map<String, Value>, SnError> {
        self.append_once(sys_id, fields, None).await
    }

    /// PATCH `incident/{sys_id}` with `fields`, retried on transient errors; returns the
    /// updated record. With `reference` (text the work note carries), every retry first
    /// looks for it among the incident's work notes: a PATCH that ServiceNow committed
    /// before its answer was lost (a 502, a timeout) is not appended a second time.
    pub async fn append_once(
        &self,
        sys_id: &SysId,
        fields: &Map<String, Value>,
        reference: Option<&str>,
    ) -> Result<Map<String, Value>, SnError> {
        let url = format!("{}/{sys_id}", self.table("incident"));
        let params = [
            ("sysparm_exclude_reference_link", "true"),
            ("sysparm_fields", FIELDS),
        ];
        let tries = std::sync::atomic::AtomicUsize::new(0);
        let v = self
            .retry
            .run(|| async {
                let again = tries.fetch_add(1, std::sync::atomic::Ordering::Relaxed) > 0;
                if again
                    && let Some(needle) = reference
                    && self.work_note_exists(sys_id, needle).await?
                {
                    tracing::info!(incident = %sys_id,
                        "the earlier try of this write was committed; not appending it again");
                    return self.get(&url, &params).await;
                }
                self.send(self.http.patch(&url).query(&params).json(fields))
                    .await
            })
            .await?;
        Ok(v.get("result")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default())
    }

    /// The incident's `state` as ServiceNow stores it ("1" … "8"), if it has one.
    pub async fn incident_state(&self, sys_id: &SysId) -> Result<Option<String>, SnError> {
        let url = format!("{}/{sys_id}", self.table("incident"));
        let v = self
            .retry
            .run(|| self.get(&url, &[("sysparm_fields", "state")]))
            .await?;
        Ok(v.get("result")
            .and_then(|r| r.get("state"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string))
    }

    /// One row's sys_id from `table`: whether the client may read it (the doctor's probe).
    pub async fn read_probe(&self, table: &str) -> Result<(), SnError> {
        self.list(table, "", "sys_id", 1).await.map(|_| ())
    }

    /// One GET of `path` (under the instance, e.g. a Scripted REST API), signed in, not
    /// retried: for callers that have a time budget of their own.
    pub async fn get_once(&self, path: &str, params: &[(&str, &str)]) -> Result<Value, SnError> {
        self.get(&format!("{}{path}", self.base_url), params).await
    }

    async fn get(&self, url: &str, params: &[(&str, &str)]) -> Result<Value, SnError> {
        self.send(self.http.get(url).query(params)).await
    }

    /// Resolve a person's `sn_user` (a sys_id or a user_name) to an active user's sys_id.
    pub async fn resolve_user(&self, user: &str) -> Result<Option<SysId>, SnError> {
        if !query_safe(user) {
            return Ok(None);
        }
        let field = if SysId::is_valid(user) {
            "sys_id"
        } else {
            "user_name"
        };
        let rows = self
            .list(
                "sys_user",
                &format!("{field}={user}^active=true"),
                "sys_id,user_name",
                1,
            )
            .await?;
        Ok(rows
            .first()
            .and_then(|r| r.get("sys_id"))
            .and_then(Value::as_str)
            .and_then(|id| SysId::parse(id).ok()))
    }

    /// Whether a work note containing `needle` already exists on the incident.
    pub async fn work_note_exists(&self, sys_id: &SysId, needle: &str) -> Result<bool, SnError> {
        if needle.contains('^') {
            return Ok(false);
        }
        let rows = self
            .list(
                "sys_journal_field",
                &format!("element_id={sys_id}^element=work_notes^valueLIKE{needle}"),
                "sys_id",
                1,
            )
            .await?;
        Ok(!rows.is_empty())
    }

    /// POST `incident` with `fields` (201); returns the new record's sys_id, number and the
    /// priority ServiceNow computed. Retried only on 429 (a lost answer to a retried POST
    /// could create a second incident; callers look up `correlation_id` first).
    pub async fn create_incident(
        &self,
        fields: &Map<String, Value>,
    ) -> Result<IncidentRecord, SnError> {
        let params = [
            ("sysparm_exclude_reference_link", "true"),
            ("sysparm_fields", "sys_id,number,priority,state"),
        ];
        let url = self.table("incident");
        let v = self
            .retry
            .run(|| async {
                self.send(self.http.post(&url).query(&params).json(fields))
                    .await
                    .map_err(PostError)
            })
            .await
            .map_err(|e| e.0)?;
        v.get("result")
            .and_then(incident_record)
            .ok_or_else(|| SnError::Decode {
                status: 201,
                detail: "the created incident has no sys_id".into(),
            })
    }

    /// The newest incident whose `correlation_id` is exactly `correlation_id`, if any.
    pub async fn find_incident_by_correlation(
        &self,
        correlation_id: &str,
    ) -> Result<Option<IncidentRecord>, SnError> {
        if !query_safe(correlation_id) {
            return Ok(None);
        }
        let rows = self
            .list(
                "incident",
                &format!("correlation_id={correlation_id}^ORDERBYDESCsys_created_on"),
                "sys_id,number,priority",
                1,
            )
            .await?;
        Ok(rows.first().and_then(incident_record))
    }

    /// Active users whose `phone` or `mobile_phone` is `number` once both are normalised
    /// (the fields are free text such as "+1 858 867 7857"). Candidates are fetched with
    /// `LIKE` on the number's last digits and compared digit by digit here;
    /// `default_country_code` reads national numbers ("(858) 867-7857").
    pub async fn find_users_by_phone(
        &self,
        number: &E164,
        default_country_code: Option<&str>,
    ) -> Result<Vec<DirectoryUser>, SnError> {
        let mut query = String::from("active=true");
        for (i, fragment) in phone_like_fragments(number).iter().enumerate() {
            for field in ["phone", "mobile_phone"] {
                let join = if i == 0 && field == "phone" {
                    "^"
                } else {
                    "^OR"
                };
                query.push_str(&format!("{join}{field}LIKE{fragment}"));
            }
        }
        let rows = self
            .list(
                "sys_user",
                &query,
                "sys_id,user_name,name,phone,mobile_phone",
                200,
            )
            .await?;
        Ok(rows
            .iter()
            .filter(|r| {
                ["phone", "mobile_phone"]
                    .iter()
                    .any(|f| phone_matches(&str_of(r, f), number, default_country_code))
            })
            .filter_map(|r| {
                Some(DirectoryUser {
                    sys_id: SysId::parse(&str_of(r, "sys_id")).ok()?,
                    user_name: str_of(r, "user_name"),
                    name: str_of(r, "name"),
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_cannot_smuggle_operators() {
        assert!(query_safe("beth.anglin"));
        assert!(!query_safe("a^ORactive=false"));
    }
}
