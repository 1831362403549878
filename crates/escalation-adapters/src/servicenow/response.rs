//! What ServiceNow answered: the client's errors, and a Table API response turned into its
//! `result` or one of them.
//!
//! Errors follow `{"error":{"message","detail"},"status":"failure"}`; the body can also be
//! missing or HTML (a hibernating instance answers 200 with a page), so responses are
//! classified by status and content.

use crate::retry::Transient;
use escalation_core::ports::{ServiceNowError, ServiceNowErrorKind};
use serde::Deserialize;
use serde_json::Value;
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
    /// The token endpoint refused the client (a wrong id or secret, OAuth not set up).
    #[error("ServiceNow refused the OAuth client (HTTP {status}{}): check servicenow_client_id and servicenow_client_secret in the secret", if error.is_empty() { String::new() } else { format!(" {error}") })]
    OAuthRejected { status: u16, error: String },
    /// No token for now (the token endpoint answered 429 or 5xx, or not at all).
    #[error("ServiceNow OAuth token request failed: {0}")]
    OAuthUnavailable(String),
}

impl Transient for SnError {
    fn is_transient(&self) -> bool {
        match self {
            SnError::RateLimited { .. } | SnError::Transport(_) => true,
            SnError::OAuthUnavailable(_) => true,
            SnError::OAuthRejected { .. } => false,
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
}
