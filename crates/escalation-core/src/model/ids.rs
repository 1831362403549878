//! Identifiers: a ServiceNow record's sys_id, a Twilio Studio execution SID, and our own
//! escalation id. Each is parsed once at the edge; a value of these types is always valid.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{0:?} is not a ServiceNow sys_id (32 hexadecimal characters)")]
    SysId(String),
    #[error("{0:?} is not an execution SID (FN + 32 hex)")]
    ExecutionSid(String),
}

/// A ServiceNow sys_id: 32 hexadecimal characters, kept in lower case.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SysId(String);

impl SysId {
    pub fn parse(value: &str) -> Result<Self, IdError> {
        if value.len() == 32 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(SysId(value.to_ascii_lowercase()))
        } else {
            Err(IdError::SysId(value.chars().take(64).collect()))
        }
    }

    /// Whether `value` would parse (for inputs that may be a sys_id or something else,
    /// such as a user reference that is a sys_id or a user_name).
    pub fn is_valid(value: &str) -> bool {
        SysId::parse(value).is_ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A Twilio Studio execution SID: `FN` and 32 hexadecimal characters. Safe to put in a
/// URL path.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ExecutionSid(String);

impl ExecutionSid {
    pub fn parse(value: &str) -> Result<Self, IdError> {
        let ok = value.len() == 34
            && value.starts_with("FN")
            && value[2..].bytes().all(|b| b.is_ascii_hexdigit());
        if ok {
            Ok(ExecutionSid(value.to_string()))
        } else {
            Err(IdError::ExecutionSid(value.chars().take(64).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Our id for one escalation of one incident (`ESC-` and 12 hex characters when we make
/// it). An incident escalated again later gets a new id.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EscalationId(String);

impl EscalationId {
    /// A fresh random id.
    pub fn generate() -> Self {
        EscalationId(format!(
            "ESC-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        ))
    }

    /// An id read back from our own storage or our own call parameters.
    pub fn new(value: impl Into<String>) -> Self {
        EscalationId(value.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_like {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:?}", self.0)
            }
        }
        impl From<$t> for String {
            fn from(value: $t) -> String {
                value.0
            }
        }
        impl PartialEq<str> for $t {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
        impl PartialEq<String> for $t {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }
    )*};
}
string_like!(SysId, ExecutionSid, EscalationId);

impl TryFrom<String> for SysId {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, IdError> {
        SysId::parse(&value)
    }
}

impl TryFrom<String> for ExecutionSid {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, IdError> {
        ExecutionSid::parse(&value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sys_ids_are_32_hex_in_lower_case() {
        assert_eq!(
            SysId::parse("EF43C6D40A0A0B5700C77F9BF387AFE3").unwrap(),
            "ef43c6d40a0a0b5700c77f9bf387afe3"
        );
        assert!(SysId::parse("beth.anglin").is_err());
        assert!(SysId::parse("ef43c6d40a0a0b5700c77f9bf387afe").is_err());
    }

    #[test]
    fn execution_sids_are_checked_before_use_in_paths() {
        assert!(ExecutionSid::parse("FN0123456789abcdef0123456789abcdef").is_ok());
        assert!(ExecutionSid::parse("FN../../v1/Accounts").is_err());
        assert!(ExecutionSid::parse("").is_err());
        let e = ExecutionSid::parse("FNé").unwrap_err().to_string();
        assert!(e.contains("FN + 32 hex"), "{e}");
    }

    #[test]
    fn generated_escalation_ids_look_alike_and_differ() {
        let (a, b) = (EscalationId::generate(), EscalationId::generate());
        assert!(a.as_str().starts_with("ESC-") && a.as_str().len() == 16);
        assert_ne!(a, b);
    }
}
