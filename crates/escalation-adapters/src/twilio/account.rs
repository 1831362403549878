//! The account REST API (`https://api.twilio.com/2010-04-01/Accounts/{AccountSid}/…`), as
//! every client of it needs it: the account SID, the API key (Basic auth; its secret never
//! printed), form POSTs and GETs answered in JSON, Twilio's error envelope mapped to a
//! [`TwilioError`], and the retry policy the caller applies where a request may be repeated.
//! The Calls API ([`super::calls`]) and the Messages API ([`super::messages`]) sit on it.

use super::error::{TwilioError, error_from, read};
use crate::retry::RetryPolicy;
use serde::de::DeserializeOwned;

/// The API host (`TWILIO_API_BASE_URL` overrides it for the fakes).
pub const API_BASE_URL: &str = "https://api.twilio.com";

/// An API key: its SID is the Basic-auth user name, its secret the password.
#[derive(Clone)]
pub struct ApiKey {
    pub sid: String,
    pub secret: String,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("sid", &self.sid)
            .field("secret", &"<redacted>")
            .finish()
    }
}

#[derive(Clone)]
pub struct AccountClient {
    http: reqwest::Client,
    base_url: String,
    account_sid: String,
    key: ApiKey,
    retry: RetryPolicy,
}

impl std::fmt::Debug for AccountClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountClient")
            .field("base_url", &self.base_url)
            .field("account_sid", &self.account_sid)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl AccountClient {
    /// `base_url`: [`API_BASE_URL`] (or a fake); `key`: (API key SID, secret).
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        account_sid: &str,
        (key_sid, key_secret): (&str, &str),
        retry: RetryPolicy,
    ) -> Self {
        AccountClient {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            account_sid: account_sid.to_string(),
            key: ApiKey {
                sid: key_sid.to_string(),
                secret: key_secret.to_string(),
            },
            retry,
        }
    }

    pub fn account_sid(&self) -> &str {
        &self.account_sid
    }

    /// The retry policy requests that may be repeated run under.
    pub fn retry(&self) -> &RetryPolicy {
        &self.retry
    }

    /// `…/2010-04-01/Accounts/{AccountSid}/{resource}` (`resource`: `Calls.json`,
    /// `Calls/CA….json?To=…`).
    pub fn url(&self, resource: &str) -> String {
        format!(
            "{}/2010-04-01/Accounts/{}/{resource}",
            self.base_url, self.account_sid
        )
    }

    /// One form POST to `resource` (not retried here).
    pub async fn post_form<T: DeserializeOwned>(
        &self,
        resource: &str,
        form: &[(&str, &str)],
    ) -> Result<T, TwilioError> {
        self.send(self.http.post(self.url(resource)).form(form))
            .await
    }

    /// One GET of `resource` with `query` (not retried here).
    pub async fn get<T: DeserializeOwned>(
        &self,
        resource: &str,
        query: &[(&str, &str)],
    ) -> Result<T, TwilioError> {
        self.send(self.http.get(self.url(resource)).query(query))
            .await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<T, TwilioError> {
        let resp = req
            .basic_auth(&self.key.sid, Some(&self.key.secret))
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| TwilioError::Transport(e.without_url().to_string()))?;
        let (status, retry_after, body) = read(resp).await?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&body).map_err(|e| TwilioError::Decode {
                status,
                detail: e.to_string(),
            });
        }
        Err(error_from(status, retry_after, &body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_secret_is_never_printed() {
        let c = AccountClient::new(
            reqwest::Client::new(),
            "https://api.twilio.com/",
            "AC00000000000000000000000000000001",
            ("SK00000000000000000000000000000001", "s3cr3t-value"),
            RetryPolicy::fast(),
        );
        let printed = format!("{c:?}");
        assert!(!printed.contains("s3cr3t-value"), "{printed}");
        assert!(printed.contains("<redacted>") && printed.contains("SK0000"));
        assert_eq!(
            c.url("Calls.json"),
            "https://api.twilio.com/2010-04-01/Accounts/AC00000000000000000000000000000001/Calls.json"
        );
    }
}
