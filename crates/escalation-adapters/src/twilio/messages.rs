//! Twilio's Messages API (`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form
//! `To`, `From`, `Body`; 201 with the message resource, `sid` `SM…`): the engine's
//! [`Messenger`]. Transient failures (429, 5xx, transport) are retried with the shared
//! policy; Twilio's codes stop here and become a [`MessagingErrorKind`].

use super::error::{TwilioError, error_from, read};
use crate::retry::RetryPolicy;
use async_trait::async_trait;
use escalation_core::messaging::{MessagingError, MessagingErrorKind, Messenger};
use escalation_core::model::E164;
use serde::Deserialize;

/// The API host (`TWILIO_API_BASE_URL` overrides it for the fakes).
pub const API_BASE_URL: &str = "https://api.twilio.com";

/// Twilio codes that mean "this number cannot take a text" (the others hit every text):
/// 21211 invalid `To`, 21408 region not enabled, 21610 the person replied STOP, 21612 not
/// reachable from our number, 21614 not a mobile number.
const UNDELIVERABLE: &[i64] = &[21211, 21408, 21610, 21612, 21614];

#[derive(Clone)]
pub struct MessagesClient {
    http: reqwest::Client,
    base_url: String,
    account_sid: String,
    username: String,
    password: String,
    from: E164,
    retry: RetryPolicy,
}

impl std::fmt::Debug for MessagesClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessagesClient")
            .field("base_url", &self.base_url)
            .field("account_sid", &self.account_sid)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Message {
    sid: String,
}

impl MessagesClient {
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        account_sid: &str,
        (username, password): (&str, &str),
        from: E164,
        retry: RetryPolicy,
    ) -> Self {
        MessagesClient {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            account_sid: account_sid.to_string(),
            username: username.to_string(),
            password: password.to_string(),
            from,
            retry,
        }
    }

    async fn create(&self, to: &E164, body: &str) -> Result<Message, TwilioError> {
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.base_url, self.account_sid
        );
        let form = [
            ("To", to.as_str()),
            ("From", self.from.as_str()),
            ("Body", body),
        ];
        let resp = self
            .http
            .post(&url)
            .basic_auth(&self.username, Some(&self.password))
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| TwilioError::Transport(e.without_url().to_string()))?;
        let (status, retry_after, bytes) = read(resp).await?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&bytes).map_err(|e| TwilioError::Decode {
                status,
                detail: e.to_string(),
            });
        }
        Err(error_from(status, retry_after, &bytes))
    }
}

fn kind(e: &TwilioError) -> MessagingErrorKind {
    use crate::retry::Transient;
    match e {
        _ if e.is_transient() => MessagingErrorKind::Unavailable,
        TwilioError::Api {
            code: Some(code), ..
        } if UNDELIVERABLE.contains(code) => MessagingErrorKind::Undeliverable,
        _ => MessagingErrorKind::Rejected,
    }
}

#[async_trait]
impl Messenger for MessagesClient {
    async fn send(&self, to: &E164, body: &str) -> Result<String, MessagingError> {
        // A 5xx after the request was sent may mean the text went out; a second text is
        // better than none for a page, so it is retried like any transient error.
        self.retry
            .run(|| self.create(to, body))
            .await
            .map(|m| m.sid)
            .map_err(|e| MessagingError {
                kind: kind(&e),
                message: escalation_core::model::phone::mask_all(&e.to_string()),
            })
    }
}
