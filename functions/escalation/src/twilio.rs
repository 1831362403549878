//! Twilio Studio v2 REST client (create / fetch / end executions, execution context) and
//! the reading of a finished execution's context into a [`CallOutcome`].
//!
//! Errors follow Twilio's envelope `{"code","message","more_info","status","details"}`
//! (notes/twilio.md §2.9). 409/20409 carries `details.conflicting_execution_sid`.

use crate::domain::CallOutcome;
use crate::retry::{RetryPolicy, Transient, parse_retry_after};
use serde::Deserialize;
use serde_json::Value;
use std::future::Future;
use std::time::Duration;

/// Widget names in `infra/twilio/escalation-flow.json`: a contract with the flow.
pub const CALL_WIDGET: &str = "call_agent";
pub const GATHER_WIDGET: &str = "gather_digit";

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
}

impl Transient for TwilioError {
    fn is_transient(&self) -> bool {
        match self {
            TwilioError::RateLimited { .. } | TwilioError::Transport(_) => true,
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

/// What a new execution needs.
#[derive(Debug, Clone)]
pub struct NewExecution {
    pub to: String,
    pub from: String,
    /// Sent as the `Parameters` JSON string; available in the flow as `flow.data`.
    pub parameters: Value,
}

/// The Studio operations the escalation needs.
pub trait Studio: Send + Sync {
    /// Wait for a slot under the account's execution-create rate limit. The engine calls
    /// this before it claims an attempt, so that a dialer's lease covers the request and
    /// not the wait in the queue. Adapters without a limit need not implement it.
    fn reserve_create(&self) -> impl Future<Output = ()> + Send {
        async {}
    }
    /// Create an execution. The first try uses the slot taken by
    /// [`Studio::reserve_create`]; retries take slots of their own.
    fn create_execution(
        &self,
        new: &NewExecution,
    ) -> impl Future<Output = Result<Execution, TwilioError>> + Send;
    fn fetch_execution(
        &self,
        sid: &str,
    ) -> impl Future<Output = Result<Execution, TwilioError>> + Send;
    /// The flow's executions created at or after `from_ms` (every page, at most
    /// [`MAX_LIST_PAGES`]).
    fn list_executions(
        &self,
        from_ms: u64,
    ) -> impl Future<Output = Result<Vec<Execution>, TwilioError>> + Send;
    fn fetch_context(
        &self,
        sid: &str,
    ) -> impl Future<Output = Result<ExecutionContext, TwilioError>> + Send;
    fn end_execution(
        &self,
        sid: &str,
    ) -> impl Future<Output = Result<Execution, TwilioError>> + Send;
}

/// Pages of executions read by one [`Studio::list_executions`] (200 each).
pub const MAX_LIST_PAGES: usize = 10;

#[derive(Clone)]
pub struct StudioClient {
    http: reqwest::Client,
    base_url: String,
    flow_sid: String,
    username: String,
    password: String,
    retry: RetryPolicy,
    /// Creates per second, shared by every clone (and so every task in the container).
    create_limit: std::sync::Arc<crate::ratelimit::RateLimiter>,
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
            create_limit: std::sync::Arc::new(crate::ratelimit::RateLimiter::new(20)),
        }
    }

    /// Limit execution creates to `per_sec` (Studio's default account limit is 20/s).
    pub fn with_create_rate(mut self, per_sec: u32) -> Self {
        self.create_limit = std::sync::Arc::new(crate::ratelimit::RateLimiter::new(per_sec));
        self
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
        let status = resp.status().as_u16();
        let retry_after = parse_retry_after(resp.headers().get(reqwest::header::RETRY_AFTER));
        let body = resp
            .bytes()
            .await
            .map_err(|e| TwilioError::Transport(e.without_url().to_string()))?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&body).map_err(|e| TwilioError::Decode {
                status,
                detail: e.to_string(),
            });
        }
        Err(error_from(status, retry_after, &body))
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
                message: crate::phone::mask_all(&env.message.unwrap_or_default()),
            }
        }
        None => TwilioError::Decode {
            status,
            detail: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
        },
    }
}

impl Studio for StudioClient {
    async fn reserve_create(&self) {
        self.create_limit.acquire().await;
    }

    async fn create_execution(&self, new: &NewExecution) -> Result<Execution, TwilioError> {
        let params = new.parameters.to_string();
        let tries = std::sync::atomic::AtomicUsize::new(0);
        self.retry
            .run(|| async {
                if tries.fetch_add(1, std::sync::atomic::Ordering::Relaxed) > 0 {
                    self.create_limit.acquire().await;
                }
                let form = [
                    ("To", new.to.as_str()),
                    ("From", new.from.as_str()),
                    ("Parameters", params.as_str()),
                ];
                self.send(self.http.post(self.url("")).form(&form)).await
            })
            .await
    }

    async fn fetch_execution(&self, sid: &str) -> Result<Execution, TwilioError> {
        check_sid(sid)?;
        self.retry
            .run(|| self.send(self.http.get(self.url(&format!("/{sid}")))))
            .await
    }

    async fn list_executions(&self, from_ms: u64) -> Result<Vec<Execution>, TwilioError> {
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
            crate::clock::format_iso8601(from_ms)
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

    async fn fetch_context(&self, sid: &str) -> Result<ExecutionContext, TwilioError> {
        check_sid(sid)?;
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

    async fn end_execution(&self, sid: &str) -> Result<Execution, TwilioError> {
        check_sid(sid)?;
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

/// Execution SIDs come from events: never put an unchecked string in a URL path.
fn check_sid(sid: &str) -> Result<(), TwilioError> {
    let ok =
        sid.len() == 34 && sid.starts_with("FN") && sid[2..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(())
    } else {
        Err(TwilioError::Api {
            status: 400,
            code: None,
            message: format!("{sid:?} is not an execution SID (FN + 32 hex)"),
        })
    }
}

/// Our parameters, read back from `context.flow.data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionParams {
    pub escalation_id: String,
    pub sys_id: String,
    pub attempt: u32,
}

impl ExecutionParams {
    /// Whether the execution was started for this attempt of this escalation.
    pub fn is_for(&self, escalation_id: &str, attempt: u32) -> bool {
        self.escalation_id == escalation_id && self.attempt == attempt
    }
}

/// The `context` of an execution (notes/twilio.md §2.5).
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionContext(pub Value);

impl ExecutionContext {
    fn widget(&self, name: &str) -> Option<&Value> {
        self.0.get("widgets")?.get(name)
    }

    /// Our parameters; `None` if the execution was not started by us (e.g. a console test).
    pub fn params(&self) -> Option<ExecutionParams> {
        let data = self.0.get("flow")?.get("data")?;
        let text = |k: &str| data.get(k).and_then(Value::as_str).map(str::to_string);
        let attempt = match data.get("attempt")? {
            Value::Number(n) => n.as_u64()?,
            Value::String(s) => s.parse().ok()?,
            _ => return None,
        };
        Some(ExecutionParams {
            escalation_id: text("escalation_id")?,
            sys_id: text("sys_id")?,
            attempt: u32::try_from(attempt).ok()?,
        })
    }

    /// How the call ended. Digits first (a pressed key is the strongest signal), then
    /// answering-machine detection, then the call status.
    pub fn outcome(&self) -> CallOutcome {
        let digits = self
            .widget(GATHER_WIDGET)
            .and_then(|g| g.get("Digits"))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|d| !d.is_empty());
        if let Some(d) = digits {
            return match d {
                "1" => CallOutcome::Accepted,
                "2" => CallOutcome::Passed,
                "3" => CallOutcome::Escalated,
                other => CallOutcome::InvalidKey(other.chars().take(8).collect()),
            };
        }
        let Some(call) = self.widget(CALL_WIDGET) else {
            return CallOutcome::Failed;
        };
        let answered_by = call.get("AnsweredBy").and_then(Value::as_str).unwrap_or("");
        if answered_by.starts_with("machine") || answered_by == "fax" {
            return CallOutcome::Machine;
        }
        match call.get("CallStatus").and_then(Value::as_str).unwrap_or("") {
            "busy" => CallOutcome::Busy,
            "no-answer" => CallOutcome::NoAnswer,
            "completed" | "in-progress" | "answered" => CallOutcome::NoKeypress,
            _ => CallOutcome::Failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx(widgets: Value) -> ExecutionContext {
        ExecutionContext(json!({
            "flow": {"data": {"escalation_id": "e1", "sys_id": "s1", "attempt": 2}},
            "widgets": widgets
        }))
    }

    #[test]
    fn outcomes_from_context() {
        let human = json!({"CallStatus": "completed", "AnsweredBy": "human"});
        let cases = [
            (
                json!({"call_agent": human, "gather_digit": {"Digits": "1"}}),
                CallOutcome::Accepted,
            ),
            (
                json!({"call_agent": human, "gather_digit": {"Digits": "2"}}),
                CallOutcome::Passed,
            ),
            (
                json!({"call_agent": human, "gather_digit": {"Digits": "3"}}),
                CallOutcome::Escalated,
            ),
            (
                json!({"call_agent": human, "gather_digit": {"Digits": "9"}}),
                CallOutcome::InvalidKey("9".into()),
            ),
            (
                json!({"call_agent": human, "gather_digit": {"CallStatus": "in-progress"}}),
                CallOutcome::NoKeypress,
            ),
            (
                json!({"call_agent": {"CallStatus": "completed", "AnsweredBy": "machine_start"}}),
                CallOutcome::Machine,
            ),
            (
                json!({"call_agent": {"CallStatus": "completed", "AnsweredBy": "fax"}}),
                CallOutcome::Machine,
            ),
            (
                json!({"call_agent": {"CallStatus": "busy"}}),
                CallOutcome::Busy,
            ),
            (
                json!({"call_agent": {"CallStatus": "no-answer"}}),
                CallOutcome::NoAnswer,
            ),
            (
                json!({"call_agent": {"CallStatus": "failed"}}),
                CallOutcome::Failed,
            ),
            (
                json!({"call_agent": {"CallStatus": "canceled"}}),
                CallOutcome::Failed,
            ),
            (json!({}), CallOutcome::Failed),
        ];
        for (widgets, expect) in cases {
            assert_eq!(ctx(widgets.clone()).outcome(), expect, "{widgets}");
        }
    }

    #[test]
    fn params_accept_number_or_string_attempt() {
        assert_eq!(ctx(json!({})).params().unwrap().attempt, 2);
        let c = ExecutionContext(
            json!({"flow": {"data": {"escalation_id": "e", "sys_id": "s", "attempt": "7"}}}),
        );
        assert_eq!(c.params().unwrap().attempt, 7);
        assert_eq!(
            ExecutionContext(json!({"flow": {"data": {}}})).params(),
            None
        );
        assert_eq!(ExecutionContext(json!({})).params(), None);
    }

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
    fn sids_are_checked_before_use_in_paths() {
        assert!(check_sid("FN0123456789abcdef0123456789abcdef").is_ok());
        assert!(check_sid("FN../../v1/Accounts").is_err());
        assert!(check_sid("").is_err());
    }
}
