//! Twilio's errors: the envelope `{"code","message","more_info","status","details"}` of
//! every product API, classified for retries and mapped to the engine's telephony error.

use crate::retry::{Transient, parse_retry_after};
use escalation_core::ports::{TelephonyError, TelephonyErrorKind};
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum TwilioError {
    #[error(
        "Twilio 409 (20409): execution {conflicting_execution_sid} is already active for this contact"
    )]
    Conflict { conflicting_execution_sid: String },
    #[error("Twilio 429 (too many requests)")]
    RateLimited { retry_after: Option<Duration> },
    #[error("Twilio {status} (code {code:?}): {message}")]
    Api {
        status: u16,
        code: Option<i64>,
        message: String,
    },
    #[error("Twilio request failed: {0}")]
    Transport(String),
    #[error("Twilio answered {status} with a body that is not the documented JSON: {detail}")]
    Decode { status: u16, detail: String },
    /// No slot under the create rate could be taken; nothing was sent.
    #[error("no create slot: {0}")]
    Limit(String),
}

impl TwilioError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, TwilioError::Api { status: 404, .. })
    }

    /// Whether a request that failed this way may still have been carried out: a timeout
    /// or a broken connection after it was sent, or a 5xx other than 503 (a 503 and a 429
    /// come before any work; a 4xx was refused).
    pub fn may_have_been_processed(&self) -> bool {
        match self {
            TwilioError::Transport(_) => true,
            TwilioError::Api { status, .. } | TwilioError::Decode { status, .. } => {
                *status >= 500 && *status != 503
            }
            TwilioError::RateLimited { .. }
            | TwilioError::Conflict { .. }
            | TwilioError::Limit(_) => false,
        }
    }
}

impl Transient for TwilioError {
    fn is_transient(&self) -> bool {
        match self {
            TwilioError::RateLimited { .. } | TwilioError::Transport(_) | TwilioError::Limit(_) => {
                true
            }
            TwilioError::Api { status, .. } | TwilioError::Decode { status, .. } => *status >= 500,
            TwilioError::Conflict { .. } => false,
        }
    }
    fn retry_after(&self) -> Option<Duration> {
        match self {
            TwilioError::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }
}

impl From<TwilioError> for TelephonyError {
    fn from(e: TwilioError) -> Self {
        TelephonyError {
            kind: if e.is_transient() {
                TelephonyErrorKind::Unavailable
            } else {
                TelephonyErrorKind::Rejected
            },
            message: e.to_string(),
        }
    }
}

/// Classify an error response by status and Twilio's envelope.
pub fn error_from(status: u16, retry_after: Option<Duration>, body: &[u8]) -> TwilioError {
    #[derive(Deserialize)]
    struct Envelope {
        code: Option<i64>,
        message: Option<String>,
        details: Option<Value>,
    }
    let env: Option<Envelope> = serde_json::from_slice(body).ok();
    if status == 429 {
        return TwilioError::RateLimited { retry_after };
    }
    match env {
        Some(env) => {
            if status == 409 || env.code == Some(20409) {
                let sid = env
                    .details
                    .as_ref()
                    .and_then(|d| d.get("conflicting_execution_sid"))
                    .and_then(Value::as_str);
                if let Some(sid) = sid {
                    return TwilioError::Conflict {
                        conflicting_execution_sid: sid.to_string(),
                    };
                }
            }
            TwilioError::Api {
                status,
                code: env.code,
                // Twilio quotes the number it refused; logs and notes get it masked.
                message: escalation_core::model::phone::mask_all(&env.message.unwrap_or_default()),
            }
        }
        None => TwilioError::Decode {
            status,
            detail: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
        },
    }
}

/// A response's status, `Retry-After` and body, or the transport error.
pub async fn read(
    resp: reqwest::Response,
) -> Result<(u16, Option<Duration>, Vec<u8>), TwilioError> {
    let status = resp.status().as_u16();
    let retry_after = parse_retry_after(resp.headers().get(reqwest::header::RETRY_AFTER));
    let body = resp
        .bytes()
        .await
        .map_err(|e| TwilioError::Transport(e.without_url().to_string()))?;
    Ok((status, retry_after, body.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_follow_the_envelope() {
        let body = br#"{"code":20409,"details":{"conflicting_execution_sid":"FNf11d38169ef8920ae5e2b10acbb0374d"},"message":"Execution FNf11d... is already active for this contact.","more_info":"https://www.twilio.com/docs/errors/20409","status":409}"#;
        match error_from(409, None, body) {
            TwilioError::Conflict {
                conflicting_execution_sid,
            } => {
                assert_eq!(
                    conflicting_execution_sid,
                    "FNf11d38169ef8920ae5e2b10acbb0374d"
                )
            }
            e => panic!("{e:?}"),
        }
        let e = error_from(
            429,
            Some(Duration::from_secs(1)),
            br#"{"code":20429,"message":"Too Many Requests","status":429}"#,
        );
        assert!(e.is_transient());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(1)));
        let e = error_from(
            400,
            None,
            br#"{"code":21211,"message":"Invalid 'To' Phone Number","status":400}"#,
        );
        assert!(!e.is_transient());
        assert!(e.to_string().contains("21211"));
        let e = error_from(400, None, br#"{"code":21211,"message":"The 'To' number +15550100001 is not a valid phone number.","status":400}"#);
        assert!(
            e.to_string().contains("+1******0001") && !e.to_string().contains("+15550100001"),
            "{e}"
        );
        assert!(error_from(503, None, b"<html>").is_transient());
        assert!(!error_from(404, None, b"<html>").is_transient());
    }

    #[test]
    fn the_engine_sees_whether_to_retry_not_the_status() {
        let e: TelephonyError = error_from(503, None, b"<html>").into();
        assert_eq!(e.kind, TelephonyErrorKind::Unavailable);
        let e: TelephonyError = error_from(
            401,
            None,
            br#"{"code":20003,"message":"Authenticate","status":401}"#,
        )
        .into();
        assert_eq!(e.kind, TelephonyErrorKind::Rejected);
        assert!(e.message.contains("20003"));
    }
}
