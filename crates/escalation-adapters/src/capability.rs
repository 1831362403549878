//! The capability a call carries to decide its own attempt during the call.
//!
//! `token = base64url(HMAC-SHA256(k, "v1" | escalation id | sys_id | attempt))` where `k =
//! HMAC-SHA256(trigger_hmac_key, "call-decision/v1")`: a key of its own, derived from the
//! deployment's secret, so a token is never a valid trigger signature and the trigger's key
//! never leaves the secret. The dialer puts the token in the execution's Parameters; the
//! flow sends it back with the key pressed; the decision endpoint refuses a request whose
//! token is not the one for the escalation and attempt it names. The execution SID is not
//! in the token (it exists only once the execution is created, after its Parameters are
//! fixed): the engine then refuses a decision whose execution is not the attempt's call.

use crate::signing::SigningKey;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

const LABEL: &[u8] = b"call-decision/v1";

/// The key that mints and checks decision tokens. Never printed.
#[derive(Clone)]
pub struct DecisionKey([u8; 32]);

impl std::fmt::Debug for DecisionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DecisionKey(<redacted>)")
    }
}

impl DecisionKey {
    /// The decision key derived from the deployment's shared key.
    pub fn derive(from: &SigningKey) -> DecisionKey {
        let mut mac = from.mac_for_derivation();
        mac.update(LABEL);
        DecisionKey(mac.finalize().into_bytes().into())
    }

    fn mac(&self, escalation_id: &str, sys_id: &str, attempt: u32) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        for part in ["v1", escalation_id, sys_id, &attempt.to_string()] {
            // Length-prefixed: no two different triples give the same input.
            mac.update(&(part.len() as u32).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac
    }

    /// The token for one attempt of one escalation.
    pub fn token(&self, escalation_id: &str, sys_id: &str, attempt: u32) -> String {
        URL_SAFE_NO_PAD.encode(
            self.mac(escalation_id, sys_id, attempt)
                .finalize()
                .into_bytes(),
        )
    }

    /// Whether `token` is the one for this attempt. Constant-time comparison.
    pub fn verify(&self, token: &str, escalation_id: &str, sys_id: &str, attempt: u32) -> bool {
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(token.trim()) else {
            return false;
        };
        self.mac(escalation_id, sys_id, attempt)
            .verify_slice(&bytes)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> DecisionKey {
        DecisionKey::derive(
            &SigningKey::from_base64("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=").unwrap(),
        )
    }

    #[test]
    fn a_token_opens_its_own_attempt_only() {
        let k = key();
        let t = k.token("e1", "s1", 2);
        assert!(k.verify(&t, "e1", "s1", 2));
        assert!(!k.verify(&t, "e1", "s1", 3), "another attempt");
        assert!(!k.verify(&t, "e2", "s1", 2), "another escalation");
        assert!(!k.verify(&t, "e1", "s2", 2), "another incident");
        assert!(!k.verify("", "e1", "s1", 2));
        assert!(!k.verify("not base64!", "e1", "s1", 2));
        let mut altered = t.clone().into_bytes();
        altered[0] = if altered[0] == b'A' { b'B' } else { b'A' };
        assert!(!k.verify(&String::from_utf8(altered).unwrap(), "e1", "s1", 2));
        // Length prefixes keep the parts apart.
        assert_ne!(k.token("e1", "1s1", 2), k.token("e11", "s1", 2));
    }

    #[test]
    fn another_deployments_key_mints_other_tokens() {
        let other = DecisionKey::derive(
            &SigningKey::from_base64("ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=").unwrap(),
        );
        assert!(!other.verify(&key().token("e1", "s1", 2), "e1", "s1", 2));
        assert!(!format!("{:?}", key()).contains('='));
    }
}
