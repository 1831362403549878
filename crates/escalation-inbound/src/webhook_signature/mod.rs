//! `X-Twilio-Signature` on the webhooks Twilio sends us.
//!
//! Form-encoded POSTs: `base64(HMAC-SHA1(auth token, url + name1 + value1 + name2 + ...))`
//! with the parameters sorted by name (then value), no delimiters. JSON bodies: Twilio adds
//! `bodySHA256=<hex sha256 of the raw body>` to the URL and signs the URL alone. The URL is
//! the one Twilio requested, exactly; Twilio is inconsistent about default ports, so both
//! the URL without a port and with `:443` / `:80` are accepted. Comparison is constant-time.
//!
//! SHA-1 and HMAC come from RustCrypto's sha1 and hmac crates; the tests check them
//! against FIPS 180-4's and RFC 2202's published vectors. `url` rebuilds the URL Twilio
//! signed.

mod url;

pub use url::{public_url, url_variants};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::collections::BTreeMap;

pub const SIGNATURE_HEADER: &str = "x-twilio-signature";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookAuthError {
    #[error("missing X-Twilio-Signature header")]
    Missing,
    #[error("X-Twilio-Signature does not match the request (URL, parameters or auth token differ)")]
    Mismatch,
    #[error("JSON body without a bodySHA256 query parameter")]
    NoBodyHash,
    #[error("bodySHA256 does not match the body")]
    BodyHashMismatch,
}

/// The string Twilio signs for a form-encoded request: the URL, then every parameter's
/// name and value, sorted by name and (for repeated names) by value.
pub fn signed_payload(url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|a, b| {
        a.0.as_bytes()
            .cmp(b.0.as_bytes())
            .then(a.1.as_bytes().cmp(b.1.as_bytes()))
    });
    let mut s = String::from(url);
    for (name, value) in sorted {
        s.push_str(name);
        s.push_str(value);
    }
    s
}

/// The signature Twilio computes for `url` and form `params` (what tests and tools sign with).
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    STANDARD.encode(hmac_sha1(
        auth_token.as_bytes(),
        signed_payload(url, params).as_bytes(),
    ))
}

/// Constant-time equality of two byte strings (the length is not secret).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The X-Twilio-Signature value; a missing or blank header is [`WebhookAuthError::Missing`].
fn signature_header(header: Option<&str>) -> Result<&str, WebhookAuthError> {
    header
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or(WebhookAuthError::Missing)
}

/// Check a form-encoded webhook: `url` is the public URL Twilio called (with its query).
pub fn verify_form(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    header: Option<&str>,
) -> Result<(), WebhookAuthError> {
    let header = signature_header(header)?;
    let mut candidates = vec![params.to_vec()];
    // Some SDKs collapse repeated identical name/value pairs before signing; accept both.
    let mut dedup = params.to_vec();
    dedup.sort();
    dedup.dedup();
    if dedup.len() != params.len() {
        candidates.push(dedup);
    }
    for u in url_variants(url) {
        for p in &candidates {
            if constant_time_eq(sign(auth_token, &u, p).as_bytes(), header.as_bytes()) {
                return Ok(());
            }
        }
    }
    Err(WebhookAuthError::Mismatch)
}

/// Check a JSON-bodied webhook: the URL carries `bodySHA256`, which must be the SHA-256 of
/// the raw body, and the signature covers the URL alone.
pub fn verify_json(
    auth_token: &str,
    url: &str,
    body: &[u8],
    header: Option<&str>,
) -> Result<(), WebhookAuthError> {
    let header = signature_header(header)?;
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    let claimed = serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()
        .and_then(|pairs| {
            pairs
                .into_iter()
                .find(|(k, _)| k == "bodySHA256")
                .map(|(_, v)| v)
        })
        .ok_or(WebhookAuthError::NoBodyHash)?;
    let actual = sha256_hex(body);
    if !constant_time_eq(
        actual.as_bytes(),
        claimed.trim().to_ascii_lowercase().as_bytes(),
    ) {
        return Err(WebhookAuthError::BodyHashMismatch);
    }
    for u in url_variants(url) {
        if constant_time_eq(sign(auth_token, &u, &[]).as_bytes(), header.as_bytes()) {
            return Ok(());
        }
    }
    Err(WebhookAuthError::Mismatch)
}

/// Hex SHA-256 of a body (what Twilio puts in `bodySHA256`).
pub fn sha256_hex(body: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Form parameters in arrival order (repeated names kept).
pub fn parse_form(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .map_err(|e| format!("form body is malformed: {e}"))
}

/// First value per name, for reading parameters.
pub fn first_values(params: &[(String, String)]) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for (k, v) in params {
        map.entry(k.clone()).or_insert_with(|| v.clone());
    }
    map
}

// ---------------------------------------------------------------------------------------
// SHA-1 and HMAC-SHA1 (RustCrypto's sha1 and hmac crates).

/// SHA-1 of `data`.
pub fn sha1(data: &[u8]) -> [u8; 20] {
    use sha1::Digest;
    sha1::Sha1::digest(data).into()
}

/// HMAC-SHA1, as Twilio signs webhooks.
pub fn hmac_sha1(key: &[u8], message: &[u8]) -> [u8; 20] {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn sha1_known_answers() {
        assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            hex(&sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex(&sha1(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        assert_eq!(
            hex(&sha1(&vec![b'a'; 1_000_000])),
            "34aa973cd4c4daa4f61eeb2bdbad27316534016f"
        );
        // Block-boundary lengths (55, 56, 64 bytes) exercise the padding.
        assert_eq!(
            hex(&sha1(&[b'a'; 64])),
            "0098ba824b5c16427bd7a1122a5a442a25ec644d"
        );
    }

    #[test]
    fn hmac_sha1_rfc2202() {
        assert_eq!(
            hex(&hmac_sha1(&[0x0b; 20], b"Hi There")),
            "b617318655057264e28bc0b6fb378c8ef146be00"
        );
        assert_eq!(
            hex(&hmac_sha1(b"Jefe", b"what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        // Key longer than the block size is hashed first.
        assert_eq!(
            hex(&hmac_sha1(
                &[0xaa; 80],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "aa4ae5e15272d00e95705637ce8a3b55ed402112"
        );
    }

    const TOKEN: &str = "12345";
    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    fn call_params(from: &str) -> Vec<(String, String)> {
        p(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", from),
            ("Digits", "1234"),
            ("From", from),
            ("To", "+18005551212"),
        ])
    }

    #[test]
    fn twilio_documented_test_vectors() {
        let params = call_params("+14158675309");
        assert_eq!(sign(TOKEN, URL, &params), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
        assert_eq!(
            sign(
                TOKEN,
                "https://mycompany.com:443/myapp.php?foo=1&bar=2",
                &params
            ),
            "kvajT1Ptam85bY51eRf/AJRuM3w="
        );
        assert_eq!(
            sign(TOKEN, URL, &call_params("+14158675310")),
            "GvWf1cFY/Q7PnoempGyD5oXAezc="
        );
        let repeated = p(&[
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
        ]);
        assert_eq!(sign(TOKEN, URL, &repeated), "IK+Dwps556ElfBT0I3Rgjkr1wJU=");

        let body = br#"{"property": "value", "boolean": true}"#;
        let hash = sha256_hex(body);
        assert_eq!(
            hash,
            "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
        );
        let json_url = format!("{URL}&bodySHA256={hash}");
        assert_eq!(sign(TOKEN, &json_url, &[]), "a9nBmqA0ju/hNViExpshrM61xv4=");
    }

    #[test]
    fn verifies_forms_with_port_variants() {
        let params = call_params("+14158675309");
        // Signed without a port, received without.
        assert_eq!(
            verify_form(TOKEN, URL, &params, Some("RSOYDt4T1cUTdK1PDd93/VVr8B8=")),
            Ok(())
        );
        // Signed with :443, received without (and the other way round).
        assert_eq!(
            verify_form(TOKEN, URL, &params, Some("kvajT1Ptam85bY51eRf/AJRuM3w=")),
            Ok(())
        );
        assert_eq!(
            verify_form(
                TOKEN,
                "https://mycompany.com:443/myapp.php?foo=1&bar=2",
                &params,
                Some("RSOYDt4T1cUTdK1PDd93/VVr8B8=")
            ),
            Ok(())
        );
        // Parameter order on the wire does not matter.
        let mut shuffled = params.clone();
        shuffled.reverse();
        assert_eq!(
            verify_form(TOKEN, URL, &shuffled, Some("RSOYDt4T1cUTdK1PDd93/VVr8B8=")),
            Ok(())
        );
    }

    #[test]
    fn refuses_forgeries() {
        let params = call_params("+14158675309");
        let good = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
        for header in [None, Some("  ")] {
            assert_eq!(
                verify_form(TOKEN, URL, &params, header),
                Err(WebhookAuthError::Missing),
                "{header:?}"
            );
        }
        let other_query = URL.replace("foo=1", "foo=2");
        let other_scheme = URL.replace("https", "http");
        let tampered = call_params("+14158675310");
        let mut extra = params.clone();
        extra.push(("Digits".into(), "9".into()));
        let forgeries = [
            ("54321", URL, &params, good, "other token"),
            (TOKEN, other_query.as_str(), &params, good, "other query"),
            (TOKEN, URL, &tampered, good, "tampered parameter"),
            (TOKEN, URL, &extra, good, "added parameter"),
            (TOKEN, other_scheme.as_str(), &params, good, "other scheme"),
            (
                TOKEN,
                URL,
                &params,
                &good[..good.len() - 1],
                "truncated signature",
            ),
        ];
        for (token, url, params, signature, what) in forgeries {
            assert_eq!(
                verify_form(token, url, params, Some(signature)),
                Err(WebhookAuthError::Mismatch),
                "{what}"
            );
        }
    }

    #[test]
    fn verifies_json_bodies() {
        let body = br#"{"property": "value", "boolean": true}"#;
        let url = format!("{URL}&bodySHA256={}", sha256_hex(body));
        let sig = "a9nBmqA0ju/hNViExpshrM61xv4=";
        assert_eq!(verify_json(TOKEN, &url, body, Some(sig)), Ok(()));
        assert_eq!(
            verify_json(TOKEN, &url, br#"{"property": "other"}"#, Some(sig)),
            Err(WebhookAuthError::BodyHashMismatch)
        );
        assert_eq!(
            verify_json(TOKEN, URL, body, Some(sig)),
            Err(WebhookAuthError::NoBodyHash)
        );
        assert_eq!(
            verify_json("54321", &url, body, Some(sig)),
            Err(WebhookAuthError::Mismatch)
        );
        let with_port = url.replace("mycompany.com", "mycompany.com:443");
        assert_eq!(verify_json(TOKEN, &with_port, body, Some(sig)), Ok(()));
    }

    #[test]
    fn constant_time_eq_basics() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
