//! The inbound line: people call or text the escalation number to open an incident, or to
//! be put through to whoever is on call (docs/INBOUND.md).
//!
//! - `config`: the per-number configuration (`assets/inbound.json`).
//! - `bridge`: the conference bridge an agent opens after accepting an escalation call.
//! - `callers`: who is calling (roster, ServiceNow users by phone, withheld numbers).
//! - `state`: per-call state carried in the webhook URLs.
//! - `incident`: creating the incident, starting the normal escalation, notes.
//! - `voice`, `sms`: the webhook steps, each answering with TwiML; `sms_reply`: a 1 or 2
//!   answering an escalation text (the engine's SMS path).
//! - `twiml`: the TwiML writer.
//! - `webhook_signature`: the `X-Twilio-Signature` check every request passes first.
//!
//! Everything outside (ServiceNow, the marks, the update queue, the escalation engine) is
//! reached through escalation-core's ports; the HTTP side (signature check, routing) is the
//! Lambda's.

pub mod bridge;
pub mod callers;
pub mod config;
pub mod incident;
pub mod sms;
pub mod sms_reply;
pub mod state;
pub mod twiml;
pub mod voice;
pub mod webhook_signature;

pub use config::InboundConfig;
pub use state::CallState;
pub use twiml::{MessagingResponse, VoiceResponse};

use config::Line;
use escalation_core::model::Roster;
use escalation_core::ports::{Clock, IncidentDirectory, Marks, Outbox};
use escalation_core::usecase::Engine;
use std::collections::BTreeMap;
use std::sync::Arc;
use twiml::Speech;

/// Everything a webhook needs: the escalation engine, ServiceNow, the marks and the update
/// queue, the roster callers are identified against, the inbound configuration and the auth
/// token that signs webhooks.
pub struct Inbound {
    /// Starts escalations for new incidents (`start`, `escalates(priority)`, `find`).
    pub engine: Engine,
    /// ServiceNow: users by phone, `resolve_user`, find / create the incident.
    pub directory: Arc<dyn IncidentDirectory>,
    /// "First one wins" marks: recordings sent or discarded, calls taken, incidents being
    /// created, transcriptions noted.
    pub marks: Arc<dyn Marks>,
    /// Work notes on existing incidents go through the same update queue as the engine's.
    pub outbox: Arc<dyn Outbox>,
    pub clock: Arc<dyn Clock>,
    /// Callers are identified against it.
    pub roster: Roster,
    pub config: InboundConfig,
    /// Signs Twilio's webhooks.
    pub auth_token: String,
    /// `PUBLIC_BASE_URL`: scheme, host and path prefix Twilio uses to reach us. `None`: the
    /// request's own host.
    pub public_base_url: Option<String>,
    /// The conference bridge's ports; `None`: bridge requests are answered "not available".
    pub bridge: Option<bridge::BridgePorts>,
}

/// One webhook request, after its signature was checked.
#[derive(Clone, Debug)]
pub struct Webhook {
    /// Scheme, host and prefix for the URLs we hand Twilio (no trailing slash).
    pub base: String,
    pub state: CallState,
    /// Form parameters (first value per name).
    pub params: BTreeMap<String, String>,
}

impl Webhook {
    pub fn param(&self, name: &str) -> &str {
        self.params.get(name).map(String::as_str).unwrap_or("")
    }

    /// An absolute URL for one of our routes carrying `state`.
    pub fn url(&self, path: &str, state: &CallState) -> String {
        let q = state.to_query();
        if q.is_empty() {
            format!("{}{path}", self.base)
        } else {
            format!("{}{path}?{q}", self.base)
        }
    }
}

/// How the line speaks.
pub fn speech(line: &Line) -> Speech {
    Speech {
        voice: line.voice.clone(),
        language: line.language.clone(),
    }
}

/// An incident number read out character by character: "I N C, 0 0 1 0 0 0 5".
pub use escalation_core::spoken::spell;

/// How long the inbound line's marks are kept (one day; a transcription's, a week).
pub(crate) const MARK_TTL_SECS: u64 = 24 * 3600;

/// A Twilio SID as we accept it in marks and queries: two letters and 32 hex digits.
/// (Compared byte by byte: a multi-byte character never panics a slice.)
pub fn is_twilio_sid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 34
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..].iter().all(u8::is_ascii_hexdigit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spells_numbers() {
        assert_eq!(spell("INC0010005"), "I N C, 0 0 1 0 0 0 5");
        assert_eq!(spell("123"), "1 2 3");
    }

    #[test]
    fn sids() {
        assert!(is_twilio_sid("CA0123456789abcdef0123456789abcdef"));
        assert!(!is_twilio_sid("CA0123"));
        assert!(!is_twilio_sid("ca0123456789abcdef0123456789abcdef"));
        assert!(!is_twilio_sid("Cé123456789abcdef0123456789abcdef"));
    }
}
