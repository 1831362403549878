//! Per-call state, carried in the query string of the webhook URLs we hand Twilio.
//!
//! Twilio requests exactly the URLs our TwiML names and signs them (query included), so a
//! request whose signature checks out carries state we wrote ourselves. Keys are short to
//! keep URLs small; phone numbers are never put in them (only a masked form for notes).

use serde::{Deserialize, Serialize};

/// What the caller chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// Press 1: record a report.
    #[serde(rename = "r")]
    Report,
    /// Press 2: be put through to the on-call people.
    #[serde(rename = "l")]
    Live,
    /// Put-through failed; leaving a message.
    #[serde(rename = "v")]
    Voicemail,
}

/// How the caller was let in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Admitted {
    #[serde(rename = "roster")]
    Roster,
    #[serde(rename = "sn")]
    ServiceNow,
    #[serde(rename = "pin")]
    Pin,
}

impl Admitted {
    pub fn describe(self) -> &'static str {
        match self {
            Admitted::Roster => "identified by the on-call roster",
            Admitted::ServiceNow => "identified as a ServiceNow user by phone number",
            Admitted::Pin => "number withheld or not registered; admitted with the line's PIN",
        }
    }
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallState {
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub admitted: Option<Admitted>,
    /// The caller's name, as spoken and written in notes.
    #[serde(rename = "w", default, skip_serializing_if = "Option::is_none")]
    pub who: Option<String>,
    /// The caller's sys_user sys_id, when known.
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    pub caller_sys_id: Option<String>,
    /// The caller's roster `sn_user` (sys_id or user_name), resolved when an incident is made.
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub caller_user: Option<String>,
    /// The calling number, masked (`+1******0001`).
    #[serde(rename = "cm", default, skip_serializing_if = "Option::is_none")]
    pub caller_masked: Option<String>,
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    #[serde(rename = "g", default, skip_serializing_if = "Option::is_none")]
    pub group: Option<u8>,
    /// Attempts at the current step (silence, wrong keys).
    #[serde(rename = "t", default, skip_serializing_if = "is_zero")]
    pub tries: u8,
    /// Times the message was recorded again.
    #[serde(rename = "rr", default, skip_serializing_if = "is_zero")]
    pub rerecords: u8,
    /// Live routing: index into the group's people of the person being called.
    #[serde(rename = "i", default, skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// Live routing: how many people have been called so far.
    #[serde(rename = "n", default, skip_serializing_if = "is_zero")]
    pub called: u8,
    /// On the called person's leg: the caller's CallSid.
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Put-through bridge: the called person's CallSid (from the Calls API).
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    pub leg: Option<String>,
    /// Put-through bridge: the waiting caller's checks so far for the current person.
    #[serde(rename = "q", default, skip_serializing_if = "is_zero")]
    pub polls: u8,
    /// The line's number, where the request itself does not say it (transcriptions, whispers).
    #[serde(rename = "l", default, skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
    #[serde(rename = "rs", default, skip_serializing_if = "Option::is_none")]
    pub recording_sid: Option<String>,
    #[serde(rename = "ru", default, skip_serializing_if = "Option::is_none")]
    pub recording_url: Option<String>,
    #[serde(rename = "rd", default, skip_serializing_if = "Option::is_none")]
    pub recording_secs: Option<u32>,
}

impl CallState {
    /// Parse a raw query string (unknown keys, e.g. `bodySHA256`, are ignored).
    pub fn from_query(query: &str) -> Result<CallState, String> {
        serde_urlencoded::from_str(query)
            .map_err(|e| format!("call state in the URL is invalid: {e}"))
    }

    pub fn to_query(&self) -> String {
        serde_urlencoded::to_string(self).unwrap_or_default()
    }

    /// The same state at a new step: attempts start again.
    pub fn step(&self) -> CallState {
        CallState {
            tries: 0,
            ..self.clone()
        }
    }

    /// The same state, one more attempt at this step.
    pub fn retry(&self) -> CallState {
        CallState {
            tries: self.tries.saturating_add(1),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_the_query() {
        let s = CallState {
            admitted: Some(Admitted::ServiceNow),
            who: Some("Dana O'Neil & Co".into()),
            caller_sys_id: Some("0123456789abcdef0123456789abcdef".into()),
            mode: Some(Mode::Live),
            group: Some(2),
            tries: 1,
            index: Some(0),
            called: 1,
            recording_url: Some(
                "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1".into(),
            ),
            recording_secs: Some(12),
            ..CallState::default()
        };
        let q = s.to_query();
        assert!(
            q.contains("a=sn") && q.contains("m=l") && q.contains("g=2"),
            "{q}"
        );
        assert_eq!(CallState::from_query(&q).unwrap(), s);
        assert_eq!(CallState::from_query("").unwrap(), CallState::default());
        assert_eq!(
            CallState::from_query(&format!("{q}&bodySHA256=abc")).unwrap(),
            s
        );
        assert!(CallState::from_query("g=twelve").is_err());
    }
}
