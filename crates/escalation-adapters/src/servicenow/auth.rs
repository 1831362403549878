//! How the ServiceNow client signs in: Basic auth as the integration user, or OAuth 2.0
//! client credentials (`POST {instance}/oauth_token.do`, form `grant_type=client_credentials`,
//! `client_id`, `client_secret`) with the token sent as `Authorization: Bearer`.
//!
//! A token is kept until 60 s before its `expires_in` and shared by every clone of the
//! client. The instance refusing a token that should still be good (401: it was revoked, or
//! the instance restarted) is answered by the client with one fresh token and one retry
//! (see `SnClient::send`).

use super::client::SnError;
use crate::secrets::{Field, SecretError, Secrets};
use serde::Deserialize;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// A token is renewed this long before ServiceNow says it expires.
pub const TOKEN_MARGIN: Duration = Duration::from_secs(60);

/// The credentials from the secret.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `servicenow_username` / `servicenow_password`.
    Basic { username: String, password: String },
    /// `servicenow_client_id` / `servicenow_client_secret`; the calls run as the OAuth
    /// application's user.
    OAuth {
        client_id: String,
        client_secret: String,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
            Credentials::OAuth { .. } => f.write_str("OAuth(<redacted>)"),
        }
    }
}

impl Credentials {
    /// OAuth when `servicenow_client_id` and `servicenow_client_secret` are both set (then
    /// the username and password are not needed); Basic auth with `servicenow_username` and
    /// `servicenow_password` when neither is. One of the two alone is an error naming the
    /// other.
    pub fn from_secrets(secrets: &Secrets) -> Result<Credentials, SecretError> {
        let (id_field, secret_field) = (Field::ServiceNowClientId, Field::ServiceNowClientSecret);
        match (secrets.optional(id_field), secrets.optional(secret_field)) {
            (Some(id), Some(secret)) => Ok(Credentials::OAuth {
                client_id: id.to_string(),
                client_secret: secret.to_string(),
            }),
            (None, None) => Ok(Credentials::Basic {
                username: secrets.require(Field::ServiceNowUsername)?.to_string(),
                password: secrets.require(Field::ServiceNowPassword)?.to_string(),
            }),
            (Some(_), None) => Err(half(secrets, id_field, secret_field)),
            (None, Some(_)) => Err(half(secrets, secret_field, id_field)),
        }
    }

    /// Who the calls run as, for messages: the user name, or the OAuth client (never a
    /// secret).
    pub fn who(&self) -> String {
        match self {
            Credentials::Basic { username, .. } => username.clone(),
            Credentials::OAuth { .. } => "the OAuth client's application user".into(),
        }
    }

    /// The secret's fields to check when ServiceNow refuses these credentials.
    pub fn fields(&self) -> &'static str {
        match self {
            Credentials::Basic { .. } => "servicenow_username/servicenow_password",
            Credentials::OAuth { .. } => "servicenow_client_id/servicenow_client_secret",
        }
    }
}

fn half(secrets: &Secrets, set: Field, unset: Field) -> SecretError {
    secrets.fail(format!(
        "{} is set but {} is not: OAuth needs both (or neither, to sign in with \
         servicenow_username/servicenow_password)",
        set.name(),
        unset.name()
    ))
}

struct Token {
    access: String,
    renew_at: Instant,
}

/// The credentials and, for OAuth, the current token.
pub(super) struct Auth {
    pub(super) credentials: Credentials,
    token: Mutex<Option<Token>>,
}

#[derive(Deserialize)]
struct TokenBody {
    access_token: Option<String>,
    expires_in: Option<u64>,
    error: Option<String>,
}

impl Auth {
    pub(super) fn new(credentials: Credentials) -> Auth {
        Auth {
            credentials,
            token: Mutex::new(None),
        }
    }

    /// `req` signed in: Basic auth, or the kept token while it is good (else a new one).
    /// Also the token it carries, if any. `stale` is a token the instance just refused: it
    /// is not used again.
    pub(super) async fn sign(
        &self,
        req: reqwest::RequestBuilder,
        http: &reqwest::Client,
        base_url: &str,
        stale: Option<&str>,
    ) -> Result<(reqwest::RequestBuilder, Option<String>), SnError> {
        let (client_id, client_secret) = match &self.credentials {
            Credentials::Basic { username, password } => {
                return Ok((req.basic_auth(username, Some(password)), None));
            }
            Credentials::OAuth {
                client_id,
                client_secret,
            } => (client_id, client_secret),
        };
        let mut kept = self.token.lock().await;
        let good = kept
            .as_ref()
            .filter(|t| Instant::now() < t.renew_at && stale != Some(t.access.as_str()));
        let access = match good {
            Some(t) => t.access.clone(),
            None => {
                *kept = None;
                let fresh = fetch(http, base_url, client_id, client_secret).await?;
                let access = fresh.access.clone();
                *kept = Some(fresh);
                access
            }
        };
        Ok((req.bearer_auth(&access), Some(access)))
    }
}

/// `POST /oauth_token.do` with the client credentials.
async fn fetch(
    http: &reqwest::Client,
    base_url: &str,
    client_id: &str,
    client_secret: &str,
) -> Result<Token, SnError> {
    let asked = Instant::now();
    let unavailable = |detail: String| SnError::OAuthUnavailable(detail);
    let resp = http
        .post(format!("{base_url}/oauth_token.do"))
        .header(reqwest::header::ACCEPT, "application/json")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", client_secret),
        ])
        .send()
        .await
        .map_err(|e| unavailable(e.without_url().to_string()))?;
    let status = resp.status().as_u16();
    let body = resp
        .bytes()
        .await
        .map_err(|e| unavailable(e.without_url().to_string()))?;
    let parsed: Option<TokenBody> = serde_json::from_slice(&body).ok();
    match (status, parsed) {
        (
            200,
            Some(TokenBody {
                access_token: Some(access),
                expires_in,
                ..
            }),
        ) if !access.is_empty() => {
            // Without expires_in the token is used for this request only.
            let lifetime = Duration::from_secs(expires_in.unwrap_or(0));
            Ok(Token {
                access,
                renew_at: asked + lifetime.saturating_sub(TOKEN_MARGIN),
            })
        }
        (400..=499, parsed) if status != 429 => Err(SnError::OAuthRejected {
            status,
            error: parsed.and_then(|b| b.error).unwrap_or_default(),
        }),
        (status, _) => Err(unavailable(format!(
            "oauth_token.do answered HTTP {status}{}",
            if status == 200 {
                " without an access_token"
            } else {
                ""
            }
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(json: &str) -> Secrets {
        Secrets::parse("arn:x", json).unwrap()
    }

    #[test]
    fn oauth_when_both_client_fields_are_set_basic_when_neither() {
        let oauth = Credentials::from_secrets(&secrets(
            r#"{"servicenow_client_id":"cid","servicenow_client_secret":"csecret"}"#,
        ))
        .unwrap();
        assert!(
            matches!(oauth, Credentials::OAuth { .. }),
            "no username needed"
        );
        assert!(!format!("{oauth:?}").contains("csecret"));
        let basic = Credentials::from_secrets(&secrets(
            r#"{"servicenow_username":"svc","servicenow_password":"pw","servicenow_client_id":"","servicenow_client_secret":"FILL_ME"}"#,
        ))
        .unwrap();
        assert_eq!(
            basic,
            Credentials::Basic {
                username: "svc".into(),
                password: "pw".into()
            }
        );
        assert!(!format!("{basic:?}").contains("pw"));
        let e = Credentials::from_secrets(&secrets(r#"{"servicenow_username":"svc"}"#))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "secret arn:x: servicenow_password is missing");
    }

    #[test]
    fn half_an_oauth_client_names_the_missing_field() {
        let e = Credentials::from_secrets(&secrets(
            r#"{"servicenow_username":"svc","servicenow_password":"pw","servicenow_client_id":"cid-value"}"#,
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("servicenow_client_id is set but servicenow_client_secret is not"),
            "{e}"
        );
        assert!(!e.contains("cid-value"), "{e}");
    }
}
