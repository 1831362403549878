//! ServiceNow Table API client: PATCH the incident, look up users, read work notes back.
//!
//! Errors follow `{"error":{"message","detail"},"status":"failure"}`; the body can also be
//! missing or HTML (a hibernating instance answers 200 with a page), so responses are
//! classified by status and content (notes/servicenow.md §1.4, §5).

use crate::retry::{RetryPolicy, Transient, parse_retry_after};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::future::Future;
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

/// The ServiceNow operations the escalation needs.
pub trait ServiceNow: Send + Sync {
    /// PATCH `incident/{sys_id}` with `fields`; returns the updated record.
    fn patch_incident(
        &self,
        sys_id: &str,
        fields: &Map<String, Value>,
    ) -> impl Future<Output = Result<Map<String, Value>, SnError>> + Send;
    /// Resolve a roster `sn_user` (a sys_id or a user_name) to a sys_id; `None` if no active user matches.
    fn resolve_user(
        &self,
        user: &str,
    ) -> impl Future<Output = Result<Option<String>, SnError>> + Send;
    /// Whether a work note containing `needle` already exists on the incident.
    fn work_note_exists(
        &self,
        sys_id: &str,
        needle: &str,
    ) -> impl Future<Output = Result<bool, SnError>> + Send;
}

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

pub fn is_sys_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
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

impl ServiceNow for SnClient {
    async fn patch_incident(
        &self,
        sys_id: &str,
        fields: &Map<String, Value>,
    ) -> Result<Map<String, Value>, SnError> {
        if !is_sys_id(sys_id) {
            return Err(SnError::Api {
                status: 400,
                message: format!("{sys_id:?} is not a sys_id"),
                detail: None,
            });
        }
        let url = format!("{}/{sys_id}", self.table("incident"));
        let params = [
            ("sysparm_exclude_reference_link", "true"),
            (
                "sysparm_fields",
                "sys_id,number,state,assigned_to,assignment_group",
            ),
        ];
        let v = self
            .retry
            .run(|| self.send(self.http.patch(&url).query(&params).json(fields)))
            .await?;
        Ok(v.get("result")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default())
    }

    async fn resolve_user(&self, user: &str) -> Result<Option<String>, SnError> {
        if !query_safe(user) {
            return Ok(None);
        }
        let field = if is_sys_id(user) {
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
            .map(str::to_string))
    }

    async fn work_note_exists(&self, sys_id: &str, needle: &str) -> Result<bool, SnError> {
        if !is_sys_id(sys_id) || needle.contains('^') {
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
    fn sys_ids() {
        assert!(is_sys_id("ef43c6d40a0a0b5700c77f9bf387afe3"));
        assert!(!is_sys_id("beth.anglin"));
        assert!(!query_safe("a^ORactive=false"));
    }
}
