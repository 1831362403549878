//! How one call ended, in the engine's words (the Twilio adapter reads it from the
//! execution; a dial that could not be placed says why).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum CallOutcome {
    /// Pressed 1.
    Accepted,
    /// Pressed 2 (and no reason after it).
    Passed,
    /// Pressed 2, then the reason for declining.
    Declined(DeclineReason),
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
    /// Rung together with others (a ring-all step) and hung up because the named person
    /// accepted first.
    HungUp(String),
}

impl CallOutcome {
    /// The outcome of a pass (2) followed by `reason_key`, the key pressed when asked why
    /// (`None`: nothing). A key that names no reason is a pass without one.
    pub fn passed_because(reason_key: Option<&str>) -> CallOutcome {
        match reason_key.and_then(DeclineReason::from_key) {
            Some(reason) => CallOutcome::Declined(reason),
            None => CallOutcome::Passed,
        }
    }

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
            CallOutcome::Passed | CallOutcome::Declined(_) => Some("2"),
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

/// Why a person passed the incident on (asked after they press 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclineReason {
    /// 1: driving.
    Driving,
    /// 2: no laptop at hand.
    NoLaptop,
    /// 3: not their area.
    NotMyArea,
}

impl DeclineReason {
    /// Every reason, in the order of its key.
    pub const ALL: [DeclineReason; 3] = [
        DeclineReason::Driving,
        DeclineReason::NoLaptop,
        DeclineReason::NotMyArea,
    ];

    /// The reason a key names (`"1"` driving, `"2"` no laptop, `"3"` not my area).
    pub fn from_key(key: &str) -> Option<DeclineReason> {
        match key.trim() {
            "1" => Some(DeclineReason::Driving),
            "2" => Some(DeclineReason::NoLaptop),
            "3" => Some(DeclineReason::NotMyArea),
            _ => None,
        }
    }

    /// The key that gives this reason.
    pub fn key(self) -> &'static str {
        match self {
            DeclineReason::Driving => "1",
            DeclineReason::NoLaptop => "2",
            DeclineReason::NotMyArea => "3",
        }
    }

    /// The reason as work notes and metrics name it.
    pub fn label(self) -> &'static str {
        match self {
            DeclineReason::Driving => "driving",
            DeclineReason::NoLaptop => "no laptop",
            DeclineReason::NotMyArea => "not my area",
        }
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
    fn a_reason_after_the_pass_is_kept_and_any_other_key_is_a_plain_pass() {
        for r in DeclineReason::ALL {
            let o = CallOutcome::passed_because(Some(r.key()));
            assert_eq!(o, CallOutcome::Declined(r));
            assert_eq!(o.digit(), Some("2"));
            assert!(
                !o.allows_redial(),
                "a decline is a choice: the next person is called"
            );
        }
        for other in [None, Some(""), Some("7"), Some("*")] {
            assert_eq!(CallOutcome::passed_because(other), CallOutcome::Passed);
        }
        assert_eq!(
            serde_json::to_string(&CallOutcome::Declined(DeclineReason::NoLaptop)).unwrap(),
            r#"{"kind":"declined","detail":"no_laptop"}"#
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
