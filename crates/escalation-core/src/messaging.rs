//! Text messages to the people called: when a call is not answered and the policy step asks
//! for it, the person gets an SMS about the incident ("Reply 1 to accept, 2 to pass"), and
//! their reply is a decision on the escalation. The ports are here; the words are in
//! `prompts::sms`, the rules in `usecase::sms`.

use crate::model::{E164, EscalationId, SysId};
use crate::ports::RepoError;
use async_trait::async_trait;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessagingErrorKind {
    /// Worth another try later (a rate limit, a 5xx, a refused connection).
    Unavailable,
    /// This number cannot take the message (invalid, a landline, opted out with STOP).
    Undeliverable,
    /// Refused for a reason that hits every message (credentials, the sender number).
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct MessagingError {
    pub kind: MessagingErrorKind,
    /// Never holds a full phone number.
    pub message: String,
}

/// Sends text messages from the escalation number.
#[async_trait]
pub trait Messenger: Send + Sync {
    /// Send `body` to `to`; returns the message's id at the provider.
    async fn send(&self, to: &E164, body: &str) -> Result<String, MessagingError>;
}

/// What a reply from `phone` refers to: the attempt whose call was not answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsOffer {
    pub phone: E164,
    pub sys_id: SysId,
    pub escalation_id: EscalationId,
    pub incident_number: String,
    pub attempt: u32,
    /// The person's name, as the roster has it.
    pub person: String,
    /// The person's language tag, for the answer to their reply.
    pub language: Option<String>,
    /// Unix ms after which the offer is closed.
    pub expires_at: u64,
}

/// Open offers, one per phone number (a newer escalation's offer replaces an older one).
#[async_trait]
pub trait SmsOffers: Send + Sync {
    /// Open `offer` unless this number already has an open offer of the same escalation
    /// (one text per person per escalation). `Ok(false)`: there was one; nothing written.
    async fn open(&self, offer: &SmsOffer, now_ms: u64) -> Result<bool, RepoError>;
    /// The open offer for `phone`, if any (an expired one is not returned).
    async fn find(&self, phone: &E164, now_ms: u64) -> Result<Option<SmsOffer>, RepoError>;
    /// Close the offer of `escalation_id` for `phone` (a reply was applied). Another
    /// escalation's offer for the number is left alone.
    async fn close(&self, phone: &E164, escalation_id: &EscalationId) -> Result<(), RepoError>;
}

/// How long an offer stays open: a reply later than this is answered "no open request".
pub const OFFER_TTL_SECS: u64 = 2 * 3600;

/// What a reply says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    Accept,
    Pass,
}

impl Reply {
    /// "1" accepts, "2" passes (white space and a trailing full stop are forgiven); any
    /// other text is not a reply.
    pub fn parse(body: &str) -> Option<Reply> {
        match body.trim().trim_end_matches('.').trim() {
            "1" => Some(Reply::Accept),
            "2" => Some(Reply::Pass),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_one_or_two() {
        assert_eq!(Reply::parse(" 1 "), Some(Reply::Accept));
        assert_eq!(Reply::parse("1."), Some(Reply::Accept));
        assert_eq!(Reply::parse("2\n"), Some(Reply::Pass));
        assert_eq!(Reply::parse("12"), None);
        assert_eq!(Reply::parse("yes"), None);
        assert_eq!(Reply::parse(""), None);
    }
}
