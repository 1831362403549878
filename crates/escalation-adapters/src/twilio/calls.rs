//! Programmable Voice's Call resource, on the shared [`AccountClient`]:
//!
//! * create a call (`POST …/Calls.json`, form `To`, `From`, `Url`, `Method`, `Timeout`; 201
//!   with the call resource, whose `sid` is the Call SID). The conference bridge calls the
//!   next person in with it; Twilio fetches `Url` for the call's TwiML when they answer. A
//!   create is not retried after a response whose outcome is unknown (a second try could
//!   ring the person twice); 429 and 503 are.
//! * fetch one (`GET …/Calls/{CallSid}.json`) and list calls to a number from a number
//!   (`GET …/Calls.json?To=&From=&Status=`), to find the call a Studio execution placed;
//! * hang one up (`POST …/Calls/{CallSid}.json`, form `Status=completed`). `completed` ends
//!   a call whether it is still queued or ringing or already answered; `canceled` would end
//!   only a queued or ringing one and leave an answered call running. Hanging up is
//!   idempotent, so it is retried on every transient error.

use super::account::AccountClient;
use super::error::TwilioError;
use crate::retry::Transient;
use async_trait::async_trait;
use escalation_core::ports::{Calls, OutboundCall, TelephonyError};
use serde::Deserialize;

/// A call's statuses while it can still be heard: before it rings, ringing, answered.
pub const LIVE_STATUSES: [&str; 3] = ["queued", "ringing", "in-progress"];

/// A call resource, the fields we read.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Call {
    pub sid: String,
    #[serde(default)]
    pub status: String,
}

impl Call {
    /// Still queued, ringing or answered.
    pub fn is_live(&self) -> bool {
        LIVE_STATUSES.contains(&self.status.as_str())
    }
}

#[derive(Clone, Debug)]
pub struct CallsClient {
    account: AccountClient,
}

impl CallsClient {
    pub fn new(account: AccountClient) -> Self {
        CallsClient { account }
    }

    /// Create the call; its SID.
    pub async fn create(&self, call: &OutboundCall) -> Result<String, TwilioError> {
        let timeout = call.ring_timeout_secs.to_string();
        let form = [
            ("To", call.to.as_str()),
            ("From", call.from.as_str()),
            ("Url", call.url.as_str()),
            ("Method", "POST"),
            ("Timeout", timeout.as_str()),
        ];
        self.account
            .retry()
            .run(|| async {
                self.account
                    .post_form::<Call>("Calls.json", &form)
                    .await
                    .map(|c| c.sid)
                    .map_err(CreateError)
            })
            .await
            .map_err(|e| e.0)
    }

    /// One call; a 404 is an error ([`TwilioError::is_not_found`]).
    pub async fn fetch(&self, call_sid: &str) -> Result<Call, TwilioError> {
        let resource = format!("Calls/{call_sid}.json");
        self.account
            .retry()
            .run(|| self.account.get(&resource, &[]))
            .await
    }

    /// Live calls to `to` from `from`, newest first (one page each of queued, ringing and
    /// in-progress calls).
    pub async fn live_calls(&self, to: &str, from: &str) -> Result<Vec<Call>, TwilioError> {
        #[derive(Deserialize)]
        struct Page {
            calls: Vec<Call>,
        }
        let mut live = Vec::new();
        // Answered first: a call that is heard matters most, and ringing ones follow.
        for status in LIVE_STATUSES.iter().rev() {
            let query = [
                ("To", to),
                ("From", from),
                ("Status", status),
                ("PageSize", "20"),
            ];
            let page: Page = self
                .account
                .retry()
                .run(|| self.account.get("Calls.json", &query))
                .await?;
            live.extend(page.calls.into_iter().filter(Call::is_live));
        }
        Ok(live)
    }

    /// Hang up the call (`Status=completed`), ringing or answered; the call as Twilio
    /// answered.
    pub async fn hang_up(&self, call_sid: &str) -> Result<Call, TwilioError> {
        let resource = format!("Calls/{call_sid}.json");
        self.account
            .retry()
            .run(|| {
                self.account
                    .post_form(&resource, &[("Status", "completed")])
            })
            .await
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
