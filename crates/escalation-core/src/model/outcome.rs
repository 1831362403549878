//! How one call ended, in the engine's words (the Twilio adapter reads it from the
//! execution; a dial that could not be placed says why).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum CallOutcome {
    /// Pressed 1.
    Accepted,
    /// Pressed 2.
    Passed,
    /// Pressed 3.
    Escalated,
    /// Pressed a key that means nothing.
    InvalidKey(String),
    /// Answered, pressed nothing.
    NoKeypress,
    NoAnswer,
    Busy,
    /// The call could not be connected.
    Failed,
    /// Answered by a machine (voicemail, fax).
    Machine,
    /// The call could not be started for this number (e.g. invalid); redialling will not help.
    Unreachable(String),
    /// The person is already on another escalation's call.
    OnAnotherCall,
}

impl CallOutcome {
    /// The outcome of a key pressed during the call.
    pub fn from_digits(digits: &str) -> CallOutcome {
        match digits {
            "1" => CallOutcome::Accepted,
            "2" => CallOutcome::Passed,
            "3" => CallOutcome::Escalated,
            other => CallOutcome::InvalidKey(other.chars().take(8).collect()),
        }
    }

    /// What happened, as the work notes and the timeline say it.
    pub fn describe(&self) -> String {
        crate::notes::outcome(self)
    }

    /// The digit, if the person pressed one.
    pub fn digit(&self) -> Option<&str> {
        match self {
            CallOutcome::Accepted => Some("1"),
            CallOutcome::Passed => Some("2"),
            CallOutcome::Escalated => Some("3"),
            CallOutcome::InvalidKey(k) => Some(k),
            _ => None,
        }
    }

    /// Outcomes where nobody made a choice: the same person may be redialled.
    pub fn allows_redial(&self) -> bool {
        matches!(
            self,
            CallOutcome::InvalidKey(_)
                | CallOutcome::NoKeypress
                | CallOutcome::NoAnswer
                | CallOutcome::Busy
                | CallOutcome::Failed
                | CallOutcome::Machine
        )
    }

    /// Whether a call was actually placed (the person's phone rang, or could have).
    pub fn was_placed(&self) -> bool {
        !matches!(
            self,
            CallOutcome::OnAnotherCall | CallOutcome::Unreachable(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_map_both_ways() {
        for d in ["1", "2", "3", "7"] {
            assert_eq!(CallOutcome::from_digits(d).digit(), Some(d));
        }
        assert_eq!(CallOutcome::NoAnswer.digit(), None);
        assert_eq!(
            CallOutcome::from_digits("123456789"),
            CallOutcome::InvalidKey("12345678".into())
        );
    }

    #[test]
    fn stored_form_is_tagged() {
        assert_eq!(
            serde_json::to_string(&CallOutcome::InvalidKey("9".into())).unwrap(),
            r#"{"kind":"invalid_key","detail":"9"}"#
        );
        assert_eq!(
            serde_json::to_string(&CallOutcome::NoAnswer).unwrap(),
            r#"{"kind":"no_answer"}"#
        );
    }
}
