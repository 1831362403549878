//! The Twilio Studio v2 REST client: create, fetch, list and end executions, and read an
//! execution's context.

use super::contract::ExecutionContext;
use super::error::{TwilioError, error_from, read};
use crate::ratelimit::{CreateRate, RateLimiter};
use crate::retry::RetryPolicy;
use escalation_core::model::ExecutionSid;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Execution {
    pub sid: String,
    #[serde(default)]
    pub flow_sid: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub contact_channel_address: Option<String>,
    #[serde(default)]
    pub date_created: Option<String>,
}

impl Execution {
    pub fn is_active(&self) -> bool {
        self.status.as_deref() == Some("active")
    }
}

/// What a new execution needs.
#[derive(Debug, Clone)]
pub struct NewExecution {
    pub to: String,
    pub from: String,
    /// Sent as the `Parameters` JSON string; available in the flow as `flow.data`.
    pub parameters: Value,
}

/// Pages of executions read by one [`StudioClient::list_executions`] (200 each).
pub const MAX_LIST_PAGES: usize = 10;

#[derive(Clone)]
pub struct StudioClient {
    http: reqwest::Client,
    base_url: String,
    flow_sid: String,
    username: String,
    password: String,
    retry: RetryPolicy,
    /// The create limit, shared by every clone (and so every task in the container; the
    /// functions' limit is shared by all their containers too).
    create_limit: Arc<dyn CreateRate>,
}

impl std::fmt::Debug for StudioClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StudioClient")
            .field("base_url", &self.base_url)
            .field("flow_sid", &self.flow_sid)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl StudioClient {
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        flow_sid: &str,
        username: &str,
        password: &str,
        retry: RetryPolicy,
    ) -> Self {
        StudioClient {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            flow_sid: flow_sid.to_string(),
            username: username.to_string(),
            password: password.to_string(),
            retry,
            create_limit: Arc::new(RateLimiter::new(20)),
        }
    }

    /// Limit execution creates to `per_sec` within this process (Studio's default
    /// account limit is 20/s).
    pub fn with_create_rate(mut self, per_sec: u32) -> Self {
        self.create_limit = Arc::new(RateLimiter::new(per_sec));
        self
    }

    /// Every create waits on `limit` (one shared by every container of the account).
    pub fn with_create_limit(mut self, limit: Arc<dyn CreateRate>) -> Self {
        self.create_limit = limit;
        self
    }

    /// The creates per second this client allows.
    pub fn create_rate(&self) -> u32 {
        self.create_limit.per_sec()
    }

    fn url(&self, tail: &str) -> String {
        format!(
            "{}/v2/Flows/{}/Executions{tail}",
            self.base_url, self.flow_sid
        )
    }

    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<T, TwilioError> {
        let resp = req
            .basic_auth(&self.username, Some(&self.password))
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

    /// Wait for a slot under the account's execution-create rate limit. The first try of
    /// [`StudioClient::create_execution`] uses it; retries take slots of their own.
    pub async fn reserve_create(&self) -> Result<(), TwilioError> {
        self.create_limit
            .acquire()
            .await
            .map_err(TwilioError::Limit)
    }

    /// Create an execution (retried on transient errors). A final error after a try whose
    /// outcome was unknown says so: a call may exist even though the last try was refused.
    pub async fn create_execution(&self, new: &NewExecution) -> Result<Execution, TwilioError> {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let params = new.parameters.to_string();
        let tries = AtomicUsize::new(0);
        let uncertain = AtomicBool::new(false);
        let result = self
            .retry
            .run(|| async {
                if tries.fetch_add(1, Ordering::Relaxed) > 0 {
                    self.reserve_create().await?;
                }
                let form = [
                    ("To", new.to.as_str()),
                    ("From", new.from.as_str()),
                    ("Parameters", params.as_str()),
                ];
                let sent = self.send(self.http.post(self.url("")).form(&form)).await;
                if let Err(e) = &sent
                    && e.may_have_been_processed()
                {
                    uncertain.store(true, Ordering::Relaxed);
                }
                sent
            })
            .await;
        match result {
            Err(e) if uncertain.load(Ordering::Relaxed) && !e.may_have_been_processed() => {
                Err(TwilioError::Transport(format!(
                    "{e}; an earlier try may have created the execution"
                )))
            }
            other => other,
        }
    }

    pub async fn fetch_execution(&self, sid: &ExecutionSid) -> Result<Execution, TwilioError> {
        self.retry
            .run(|| self.send(self.http.get(self.url(&format!("/{sid}")))))
            .await
    }

    /// The flow's executions created at or after `from_ms` (every page, at most
    /// [`MAX_LIST_PAGES`]).
    pub async fn list_executions(&self, from_ms: u64) -> Result<Vec<Execution>, TwilioError> {
        #[derive(Deserialize)]
        struct Page {
            executions: Vec<Execution>,
            #[serde(default)]
            meta: Option<Meta>,
        }
        #[derive(Deserialize)]
        struct Meta {
            next_page_url: Option<String>,
        }
        let mut url = format!(
            "{}?DateCreatedFrom={}&PageSize=200",
            self.url(""),
            escalation_core::time::format_iso8601(from_ms)
        );
        let mut all = Vec::new();
        for _ in 0..MAX_LIST_PAGES {
            let page: Page = self.retry.run(|| self.send(self.http.get(&url))).await?;
            all.extend(page.executions);
            match page.meta.and_then(|m| m.next_page_url) {
                // Our credentials go only to the Studio host we were configured with.
                Some(next) if next.starts_with(&format!("{}/", self.base_url)) => url = next,
                _ => break,
            }
        }
        Ok(all)
    }

    pub async fn fetch_context(&self, sid: &ExecutionSid) -> Result<ExecutionContext, TwilioError> {
        #[derive(Deserialize)]
        struct Envelope {
            context: Value,
        }
        let env: Envelope = self
            .retry
            .run(|| self.send(self.http.get(self.url(&format!("/{sid}/Context")))))
            .await?;
        Ok(ExecutionContext(env.context))
    }

    pub async fn end_execution(&self, sid: &ExecutionSid) -> Result<Execution, TwilioError> {
        self.retry
            .run(|| {
                self.send(
                    self.http
                        .post(self.url(&format!("/{sid}")))
                        .form(&[("Status", "ended")]),
                )
            })
            .await
    }
}
