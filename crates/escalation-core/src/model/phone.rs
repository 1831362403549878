//! E.164 phone numbers and their masking in logs and notes.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A phone number in E.164 form: `+`, a non-zero country digit, 8–15 digits in all.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct E164(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{value:?} is not an E.164 phone number ({reason}); expected + and 8 to 15 digits, e.g. +14155550100"
)]
pub struct PhoneError {
    pub value: String,
    pub reason: &'static str,
}

impl E164 {
    pub fn parse(value: &str) -> Result<Self, PhoneError> {
        let err = |reason| PhoneError {
            value: value.to_string(),
            reason,
        };
        let digits = value
            .strip_prefix('+')
            .ok_or_else(|| err("it must start with +"))?;
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err("only digits may follow the +"));
        }
        if !(8..=15).contains(&digits.len()) {
            return Err(err("wrong number of digits"));
        }
        if digits.starts_with('0') {
            return Err(err("a country code never starts with 0"));
        }
        Ok(E164(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number as it may appear in logs and notes: `+1******7890`.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

impl TryFrom<String> for E164 {
    type Error = PhoneError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        E164::parse(&value)
    }
}

impl From<E164> for String {
    fn from(value: E164) -> Self {
        value.0
    }
}

/// Debug never prints the full number: it ends up in logs.
impl fmt::Debug for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "E164({})", self.masked())
    }
}

/// Mask any phone-like string for logs: keep the leading `+` and first digit and the last
/// four digits, star the rest. Short or odd input is starred entirely.
pub fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let plus = usize::from(chars.first() == Some(&'+'));
    let body = &chars[plus..];
    if body.len() < 7 {
        return "*".repeat(chars.len().max(1));
    }
    let mut out = String::with_capacity(chars.len());
    if plus == 1 {
        out.push('+');
    }
    out.push(body[0]);
    out.extend(std::iter::repeat_n('*', body.len() - 5));
    out.extend(&body[body.len() - 4..]);
    out
}

/// Mask every E.164-looking number (`+` and 8–15 digits) inside free text, such as an
/// error message from Twilio that quotes the number it refused.
pub fn mask_all(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '+' {
            let end = chars[i + 1..]
                .iter()
                .position(|c| !c.is_ascii_digit())
                .map_or(chars.len(), |p| i + 1 + p);
            if (8..=15).contains(&(end - i - 1)) {
                out.push_str(&mask(&chars[i..end].iter().collect::<String>()));
                i = end;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// Digits only, for comparing numbers written in different styles ("+1 555 010 0001").
pub fn digits(value: &str) -> String {
    value.chars().filter(char::is_ascii_digit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_e164() {
        assert_eq!(
            E164::parse("+14155550100").unwrap().as_str(),
            "+14155550100"
        );
        assert!(E164::parse("+442071838750").is_ok());
    }

    #[test]
    fn rejects_placeholders_and_formats() {
        for bad in [
            "+1XXXXXXXXXX",
            "14155550100",
            "+1 415 555 0100",
            "+0123456789",
            "+1234",
            "+1234567890123456",
            "",
        ] {
            assert!(E164::parse(bad).is_err(), "{bad} should be rejected");
        }
        let e = E164::parse("+1XXXXXXXXXX").unwrap_err();
        assert!(e.to_string().contains("+1XXXXXXXXXX"));
    }

    #[test]
    fn masks_numbers() {
        assert_eq!(mask("+11234567890"), "+1******7890");
        assert_eq!(mask("+442071838750"), "+4*******8750");
        assert_eq!(mask("12"), "**");
        let n = E164::parse("+11234567890").unwrap();
        assert_eq!(format!("{n:?}"), "E164(+1******7890)");
        assert!(!format!("{n:?}").contains("123456"));
    }

    #[test]
    fn masks_numbers_inside_text() {
        assert_eq!(
            mask_all("The 'To' number +15550100001 is not valid; from +442071838750."),
            "The 'To' number +1******0001 is not valid; from +4*******8750."
        );
        assert_eq!(
            mask_all("+12 and +1234567890123456 stay"),
            "+12 and +1234567890123456 stay"
        );
    }

    #[test]
    fn digits_only() {
        assert_eq!(digits("+1 (555) 010-0001"), "15550100001");
    }
}
