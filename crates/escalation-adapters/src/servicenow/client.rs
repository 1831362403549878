//! The ServiceNow Table API client: PATCH and create incidents, look up users and
//! incidents, read work notes back.
//!
//! Errors follow `{"error":{"message","detail"},"status":"failure"}`; the body can also be
//! missing or HTML (a hibernating instance answers 200 with a page), so responses are
//! classified by status and content.

use super::phone_match::{phone_like_fragments, phone_matches};
use crate::retry::{RetryPolicy, Transient, parse_retry_after};
use escalation_core::model::{E164, SysId};
use escalation_core::ports::{DirectoryUser, IncidentRecord, ServiceNowError, ServiceNowErrorKind};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum SnError {
    #[error("ServiceNow 429 (rate limited)")]
    RateLimited { retry_after: Option<Duration> },
    #[error("ServiceNow {status}: {message}{}", detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Api {
        status: u16,
        message: String,
        detail: Option<String>,
    },
    #[error("ServiceNow request failed: {0}")]
    Transport(String),
    #[error("ServiceNow answered {status} with a body that is not Table API JSON: {detail}")]
    Decode { status: u16, detail: String },
}

impl Transient for SnError {
    fn is_transient(&self) -> bool {
        match self {
            SnError::RateLimited { .. } | SnError::Transport(_) => true,
            SnError::Api { status, .. } => *status >= 500,
            // HTML instead of JSON: a hibernating or waking instance, a proxy page.
            SnError::Decode { .. } => true,
        }
    }
    fn retry_after(&self) -> Option<Duration> {
        match self {
            SnError::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }
}

/// Only a 429 is known not to have been processed: the one error a POST may repeat.
#[derive(Debug)]
struct PostError(SnError);

impl std::fmt::Display for PostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Transient for PostError {
    fn is_transient(&self) -> bool {
        matches!(self.0, SnError::RateLimited { .. })
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

impl From<SnError> for ServiceNowError {
    fn from(e: SnError) -> Self {
        ServiceNowError {
            kind: if e.is_transient() {
                ServiceNowErrorKind::Unavailable
            } else {
                ServiceNowErrorKind::Rejected
            },
            message: e.to_string(),
        }
    }
}

/// The incident fields a write reads back.
const FIELDS: &str = "sys_id,number,state,assigned_to,assignment_group";

#[derive(Clone)]
pub struct SnClient {
    http: reqwest::Client,
    base_url: String,
    username: String,
    password: String,
    retry: RetryPolicy,
}

impl std::fmt::Debug for SnClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnClient")
            .field("base_url", &self.base_url)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl SnClient {
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        username: &str,
        password: &str,
        retry: RetryPolicy,
    ) -> Self {
        SnClient {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            username: username.to_string(),
            password: password.to_string(),
            retry,
        }
    }

    fn table(&self, table: &str) -> String {
        format!("{}/api/now/table/{table}", self.base_url)
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Value, SnError> {
        let resp = req
            .basic_auth(&self.username, Some(&self.password))
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

/// Turn a Table API response into the `result` value or a typed error.
pub fn classify(
    status: u16,
    retry_after: Option<Duration>,
    is_json: bool,
    body: &[u8],
) -> Result<Value, SnError> {
    if status == 429 {
        return Err(SnError::RateLimited { retry_after });
    }
    let parsed: Option<Value> = if is_json || body.first() == Some(&b'{') {
        serde_json::from_slice(body).ok()
    } else {
        None
    };
    if (200..300).contains(&status) {
        return match parsed {
            Some(v) if v.get("result").is_some() => Ok(v),
            _ => Err(SnError::Decode {
                status,
                detail: snippet(body),
            }),
        };
    }
    #[derive(Deserialize)]
    struct ErrBody {
        message: Option<String>,
        detail: Option<String>,
    }
    let err: Option<ErrBody> = parsed
        .as_ref()
        .and_then(|v| v.get("error"))
        .and_then(|e| serde_json::from_value(e.clone()).ok());
    match err {
        Some(e) => Err(SnError::Api {
            status,
            message: e.message.unwrap_or_default(),
            detail: e.detail,
        }),
        None => Err(SnError::Api {
            status,
            message: snippet(body),
            detail: None,
        }),
    }
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(160)]);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
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
    fn classifies_documented_bodies() {
        let ok = classify(200, None, true, br#"{"result":{"sys_id":"a"}}"#).unwrap();
        assert_eq!(ok["result"]["sys_id"], "a");
        let e = classify(404, None, true, br#"{"error":{"message":"No Record found","detail":"Record doesn't exist or ACL restricts the record retrieval"},"status":"failure"}"#).unwrap_err();
        assert!(!e.is_transient());
        assert!(e.to_string().contains("No Record found"), "{e}");
        let e = classify(
            401,
            None,
            true,
            br#"{"error":{"message":"User Not Authenticated","detail":null},"status":"failure"}"#,
        )
        .unwrap_err();
        assert!(matches!(e, SnError::Api { status: 401, .. }));
        let e = classify(
            429,
            Some(Duration::from_secs(3)),
            true,
            br#"{"error":{"message":"Rate limit exceeded"}}"#,
        )
        .unwrap_err();
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert!(e.is_transient());
        assert!(
            classify(503, None, false, b"<html>down</html>")
                .unwrap_err()
                .is_transient()
        );
        // A hibernating instance answers 200 with HTML.
        let e = classify(
            200,
            None,
            false,
            b"<html><body>Instance Hibernating page</body></html>",
        )
        .unwrap_err();
        assert!(matches!(e, SnError::Decode { .. }) && e.is_transient());
    }

    #[test]
    fn query_values_cannot_smuggle_operators() {
        assert!(query_safe("beth.anglin"));
        assert!(!query_safe("a^ORactive=false"));
    }
}
