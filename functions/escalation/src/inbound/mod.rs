//! The inbound line: people call or text the escalation number to open an incident, or to
//! be put through to whoever is on call (docs/INBOUND.md).
//!
//! - `config`: the per-number configuration (`assets/inbound.json`).
//! - `callers`: who is calling (roster, ServiceNow users by phone, withheld numbers).
//! - `state`: per-call state carried in the webhook URLs.
//! - `incident`: creating the incident, starting the normal escalation, notes.
//! - `voice`, `sms`: the webhook steps, each answering with TwiML.
//!
//! The HTTP side (signature check, routing) is `handlers::inbound`.

pub mod callers;
pub mod config;
pub mod incident;
pub mod sms;
pub mod state;
pub mod voice;

use crate::app::App;
use crate::twiml::Speech;
use config::{InboundConfig, Line};
use std::collections::BTreeMap;

/// Everything a webhook needs: the shared app (store, Studio, ServiceNow, roster, the
/// escalation engine), the inbound configuration and the auth token that signs webhooks.
pub struct Inbound<'a, S, T, Q, N> {
    pub app: &'a App<S, T, Q, N>,
    pub config: &'a InboundConfig,
    pub auth_token: &'a str,
    /// `PUBLIC_BASE_URL`: scheme, host and path prefix Twilio uses to reach us. `None`: the
    /// request's own host.
    pub public_base_url: Option<&'a str>,
}

/// One webhook request, after its signature was checked.
#[derive(Clone, Debug)]
pub struct Webhook {
    /// Scheme, host and prefix for the URLs we hand Twilio (no trailing slash).
    pub base: String,
    pub state: state::CallState,
    /// Form parameters (first value per name).
    pub params: BTreeMap<String, String>,
}

impl Webhook {
    pub fn param(&self, name: &str) -> &str {
        self.params.get(name).map(String::as_str).unwrap_or("")
    }

    /// An absolute URL for one of our routes carrying `state`.
    pub fn url(&self, path: &str, state: &state::CallState) -> String {
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
pub fn spell(number: &str) -> String {
    let letters: Vec<String> = number
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .map(|c| c.to_string())
        .collect();
    let rest: Vec<String> = number
        .chars()
        .skip(letters.len())
        .map(|c| c.to_string())
        .collect();
    match (letters.is_empty(), rest.is_empty()) {
        (true, _) => rest.join(" "),
        (false, true) => letters.join(" "),
        (false, false) => format!("{}, {}", letters.join(" "), rest.join(" ")),
    }
}

/// Idempotency marks kept in the escalation table (TTL one day).
pub(crate) mod marks {
    pub const TTL_SECS: u64 = 24 * 3600;

    pub fn recording_sent(recording_sid: &str) -> String {
        format!("inb#rec#{recording_sid}#sent")
    }
    pub fn recording_discarded(recording_sid: &str) -> String {
        format!("inb#rec#{recording_sid}#discarded")
    }
    pub fn accepted(parent_call: &str, index: usize) -> String {
        format!("inb#acc#{parent_call}#{index}")
    }
    pub fn creating(correlation: &str) -> String {
        format!("inb#new#{correlation}")
    }
    pub fn transcription(transcription_sid: &str) -> String {
        format!("inb#tr#{transcription_sid}")
    }
}

/// A Twilio SID as we accept it in marks and queries: two letters and 32 hex digits.
pub fn is_twilio_sid(s: &str) -> bool {
    s.len() == 34
        && s[..2].bytes().all(|b| b.is_ascii_uppercase())
        && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
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
    }
}
