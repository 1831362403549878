//! HMAC-SHA256 request signatures between the ServiceNow business rule and the trigger.
//!
//! `X-Signature = base64(HMAC-SHA256(key, timestamp + "." + raw body))`, timestamp in unix
//! seconds in `X-Signature-Timestamp`. The key is stored base64-encoded (the form
//! ServiceNow's `generateMac` takes); the HMAC uses the decoded bytes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub const TIMESTAMP_HEADER: &str = "x-signature-timestamp";
pub const SIGNATURE_HEADER: &str = "x-signature";
/// Maximum accepted clock difference, seconds.
pub const MAX_SKEW_SECS: i64 = 300;

/// 40 hex characters of SHA-256: a compact, safe identifier for marks and SQS ids.
pub fn short_hash(text: &str) -> String {
    use sha2::Digest;
    Sha256::digest(text.as_bytes())[..20]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The decoded shared key. Never printed.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey(<{} bytes, redacted>)", self.0.len())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing {0} header")]
    Missing(&'static str),
    #[error("X-Signature-Timestamp must be unix seconds")]
    BadTimestamp,
    #[error("X-Signature-Timestamp is outside the allowed window of {MAX_SKEW_SECS} s")]
    Skew,
    #[error("X-Signature is not valid base64")]
    BadEncoding,
    #[error("signature does not match")]
    Mismatch,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("trigger_hmac_key is not valid base64")]
    NotBase64,
    #[error(
        "trigger_hmac_key decodes to {0} bytes; use at least 16 (e.g. `openssl rand -base64 32`)"
    )]
    TooShort(usize),
}

impl SigningKey {
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| KeyError::NotBase64)?;
        if bytes.len() < 16 {
            return Err(KeyError::TooShort(bytes.len()));
        }
        Ok(SigningKey(bytes))
    }

    /// An HMAC keyed with this key, for deriving the keys of other purposes from it.
    pub(crate) fn mac_for_derivation(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length")
    }

    fn mac(&self, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// The signature the business rule sends for this timestamp and body.
    pub fn sign(&self, timestamp: &str, body: &[u8]) -> String {
        STANDARD.encode(self.mac(timestamp, body).finalize().into_bytes())
    }

    /// Check a request. Constant-time comparison; the error never says which byte differed.
    pub fn verify(
        &self,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now_secs: i64,
    ) -> Result<i64, SignatureError> {
        let ts_text = timestamp
            .ok_or(SignatureError::Missing("X-Signature-Timestamp"))?
            .trim();
        let sig_text = signature
            .ok_or(SignatureError::Missing("X-Signature"))?
            .trim();
        if ts_text.is_empty() || ts_text.len() > 12 || !ts_text.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(SignatureError::BadTimestamp);
        }
        let ts: i64 = ts_text.parse().map_err(|_| SignatureError::BadTimestamp)?;
        if (now_secs - ts).abs() > MAX_SKEW_SECS {
            return Err(SignatureError::Skew);
        }
        let given = STANDARD
            .decode(sig_text)
            .map_err(|_| SignatureError::BadEncoding)?;
        self.mac(ts_text, body)
            .verify_slice(&given)
            .map_err(|_| SignatureError::Mismatch)?;
        Ok(ts)
    }
}

/// The capability a bridge URL carries: it proves the URL was written by our dialer for
/// one attempt of one escalation, so a signed request to a bridge route with a made-up
/// escalation, incident or attempt is refused. Derived from the trigger key (every function
/// has it), under its own label, so it is never a trigger signature.
#[derive(Clone)]
pub struct BridgeKey(Vec<u8>);

impl std::fmt::Debug for BridgeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BridgeKey(<redacted>)")
    }
}

impl BridgeKey {
    pub fn derive(key: &SigningKey) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(&key.0).expect("HMAC takes any key length");
        mac.update(b"phone-escalation bridge capability v1");
        BridgeKey(mac.finalize().into_bytes().to_vec())
    }

    fn mac(&self, escalation_id: &str, sys_id: &str, attempt: u32) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(format!("{escalation_id}\n{sys_id}\n{attempt}").as_bytes());
        mac
    }

    /// The capability (32 hex digits) for one attempt of one escalation.
    pub fn capability(&self, escalation_id: &str, sys_id: &str, attempt: u32) -> String {
        let bytes = self
            .mac(escalation_id, sys_id, attempt)
            .finalize()
            .into_bytes();
        bytes[..16].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Constant-time check of a capability.
    pub fn verify(&self, escalation_id: &str, sys_id: &str, attempt: u32, given: &str) -> bool {
        let Some(bytes) = (given.len() == 32)
            .then(|| {
                (0..16)
                    .map(|i| u8::from_str_radix(given.get(i * 2..i * 2 + 2)?, 16).ok())
                    .collect::<Option<Vec<u8>>>()
            })
            .flatten()
        else {
            return false;
        };
        self.mac(escalation_id, sys_id, attempt)
            .verify_truncated_left(&bytes)
            .is_ok()
    }
}

impl escalation_core::ports::BridgeCapability for BridgeKey {
    fn verify(&self, escalation_id: &str, sys_id: &str, attempt: u32, capability: &str) -> bool {
        BridgeKey::verify(self, escalation_id, sys_id, attempt, capability)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_base64(&STANDARD.encode(b"0123456789abcdef0123456789abcdef")).unwrap()
    }

    #[test]
    fn known_vector() {
        // python3 -c "import hmac,hashlib,base64;print(base64.b64encode(hmac.new(b'0123456789abcdef0123456789abcdef', b'1795255331.{\"a\":1}', hashlib.sha256).digest()).decode())"
        assert_eq!(
            key().sign("1795255331", br#"{"a":1}"#),
            "Vpgh8hOrw6ZRBFrbN0yajelvE+nFDhzf1LjREg2QzTw="
        );
    }

    #[test]
    fn verifies_and_rejects() {
        let k = key();
        let body = br#"{"sys_id":"x"}"#;
        let sig = k.sign("1000", body);
        assert_eq!(k.verify(Some("1000"), Some(&sig), body, 1000), Ok(1000));
        assert_eq!(k.verify(Some("1000"), Some(&sig), body, 1300), Ok(1000));
        assert_eq!(
            k.verify(Some("1000"), Some(&sig), body, 1301),
            Err(SignatureError::Skew)
        );
        assert_eq!(
            k.verify(Some("1000"), Some(&sig), body, 699),
            Err(SignatureError::Skew)
        );
        assert_eq!(
            k.verify(Some("1000"), Some(&sig), b"{\"sys_id\":\"y\"}", 1000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            k.verify(Some("1001"), Some(&sig), body, 1000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            k.verify(None, Some(&sig), body, 1000),
            Err(SignatureError::Missing("X-Signature-Timestamp"))
        );
        assert_eq!(
            k.verify(Some("1000"), None, body, 1000),
            Err(SignatureError::Missing("X-Signature"))
        );
        assert_eq!(
            k.verify(Some("1e3"), Some(&sig), body, 1000),
            Err(SignatureError::BadTimestamp)
        );
        assert_eq!(
            k.verify(Some("1000"), Some("***"), body, 1000),
            Err(SignatureError::BadEncoding)
        );
        // A millisecond timestamp (a common mistake) is far outside the window.
        assert_eq!(
            k.verify(Some("1000000"), Some(&sig), body, 1000),
            Err(SignatureError::Skew)
        );
    }

    #[test]
    fn key_validation_and_redaction() {
        assert_eq!(
            SigningKey::from_base64("not base64!").unwrap_err(),
            KeyError::NotBase64
        );
        assert_eq!(
            SigningKey::from_base64(&STANDARD.encode(b"short")).unwrap_err(),
            KeyError::TooShort(5)
        );
        assert!(!format!("{:?}", key()).contains("0123"));
    }

    #[test]
    fn a_bridge_capability_binds_escalation_incident_and_attempt() {
        let key = BridgeKey::derive(
            &SigningKey::from_base64("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=").unwrap(),
        );
        let cap = key.capability("ESC-1", "abc", 2);
        assert_eq!(cap.len(), 32);
        assert!(key.verify("ESC-1", "abc", 2, &cap));
        assert!(!key.verify("ESC-1", "abc", 3, &cap));
        assert!(!key.verify("ESC-2", "abc", 2, &cap));
        assert!(!key.verify("ESC-1", "abd", 2, &cap));
        assert!(!key.verify("ESC-1", "abc", 2, &cap[..30]));
        assert!(!key.verify("ESC-1", "abc", 2, "é".repeat(16).as_str()));
        assert!(!format!("{key:?}").contains(&cap));
    }
}
