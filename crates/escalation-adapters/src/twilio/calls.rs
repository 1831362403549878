//! Programmable Voice: create a call (`POST /2010-04-01/Accounts/{AccountSid}/Calls.json`,
//! form `To`, `From`, `Url`, `Method`, `Timeout`; 201 with the call resource, whose `sid` is
//! the Call SID). The conference bridge calls the next person in with it; Twilio fetches
//! `Url` for the call's TwiML when they answer. A create is not retried after a response
//! whose outcome is unknown (a second try could ring the person twice); 429 and 503 are.

use super::error::{TwilioError, error_from, read};
use crate::retry::{RetryPolicy, Transient};
use async_trait::async_trait;
use escalation_core::ports::{Calls, OutboundCall, TelephonyError};
use serde::Deserialize;

#[derive(Clone)]
pub struct CallsClient {
    http: reqwest::Client,
    base_url: String,
    account_sid: String,
    username: String,
    password: String,
    retry: RetryPolicy,
}

impl std::fmt::Debug for CallsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallsClient")
            .field("base_url", &self.base_url)
            .field("account_sid", &self.account_sid)
            .finish_non_exhaustive()
    }
}

impl CallsClient {
    /// `base_url`: `https://api.twilio.com` (or a fake). Basic auth with an API key.
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        account_sid: &str,
        username: &str,
        password: &str,
        retry: RetryPolicy,
    ) -> Self {
        CallsClient {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            account_sid: account_sid.to_string(),
            username: username.to_string(),
            password: password.to_string(),
            retry,
        }
    }

    /// Create the call; its SID.
    pub async fn create(&self, call: &OutboundCall) -> Result<String, TwilioError> {
        #[derive(Deserialize)]
        struct Created {
            sid: String,
        }
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Calls.json",
            self.base_url, self.account_sid
        );
        let timeout = call.ring_timeout_secs.to_string();
        let form = [
            ("To", call.to.as_str()),
            ("From", call.from.as_str()),
            ("Url", call.url.as_str()),
            ("Method", "POST"),
            ("Timeout", timeout.as_str()),
        ];
        self.retry
            .run(|| async {
                let once = |e: TwilioError| CreateError(e);
                let resp = self
                    .http
                    .post(&url)
                    .basic_auth(&self.username, Some(&self.password))
                    .header(reqwest::header::ACCEPT, "application/json")
                    .form(&form)
                    .send()
                    .await
                    .map_err(|e| once(TwilioError::Transport(e.without_url().to_string())))?;
                let (status, retry_after, body) = read(resp).await.map_err(once)?;
                if (200..300).contains(&status) {
                    let created: Created = serde_json::from_slice(&body).map_err(|e| {
                        once(TwilioError::Decode {
                            status,
                            detail: e.to_string(),
                        })
                    })?;
                    return Ok(created.sid);
                }
                Err(once(error_from(status, retry_after, &body)))
            })
            .await
            .map_err(|e| e.0)
    }
}

/// A create error, retried only when the call was certainly not created (429, 503).
struct CreateError(TwilioError);

impl std::fmt::Display for CreateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Transient for CreateError {
    fn is_transient(&self) -> bool {
        self.0.is_transient() && !self.0.may_have_been_processed()
    }
    fn retry_after(&self) -> Option<std::time::Duration> {
        self.0.retry_after()
    }
}

#[async_trait]
impl Calls for CallsClient {
    async fn place(&self, call: &OutboundCall) -> Result<String, TelephonyError> {
        Ok(self.create(call).await?)
    }
}
