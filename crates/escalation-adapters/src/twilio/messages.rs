//! Twilio's Messages API (`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form
//! `To`, `From`, `Body`; 201 with the message resource, `sid` `SM…`): the engine's
//! [`Messenger`], on the shared [`AccountClient`]. Transient failures (429, 5xx, transport)
//! are retried with its policy; Twilio's codes stop here and become a
//! [`MessagingErrorKind`].

use super::account::AccountClient;
use super::error::TwilioError;
use async_trait::async_trait;
use escalation_core::messaging::{MessagingError, MessagingErrorKind, Messenger};
use escalation_core::model::E164;
use serde::Deserialize;

pub use super::account::API_BASE_URL;

/// Twilio codes that mean "this number cannot take a text" (the others hit every text):
/// 21211 invalid `To`, 21408 region not enabled, 21610 the person replied STOP, 21612 not
/// reachable from our number, 21614 not a mobile number.
const UNDELIVERABLE: &[i64] = &[21211, 21408, 21610, 21612, 21614];

#[derive(Clone, Debug)]
pub struct MessagesClient {
    account: AccountClient,
    from: E164,
}

#[derive(Deserialize)]
struct Message {
    sid: String,
}

impl MessagesClient {
    /// Texts sent from `from` (the caller ID).
    pub fn new(account: AccountClient, from: E164) -> Self {
        MessagesClient { account, from }
    }

    async fn create(&self, to: &E164, body: &str) -> Result<Message, TwilioError> {
        let form = [
            ("To", to.as_str()),
            ("From", self.from.as_str()),
            ("Body", body),
        ];
        self.account.post_form("Messages.json", &form).await
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
        self.account
            .retry()
            .run(|| self.create(to, body))
            .await
            .map(|m| m.sid)
            .map_err(|e| MessagingError {
                kind: kind(&e),
                message: escalation_core::model::phone::mask_all(&e.to_string()),
            })
    }
}
