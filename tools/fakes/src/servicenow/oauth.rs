//! OAuth 2.0 client credentials on the ServiceNow fake: `POST /oauth_token.do` with the form
//! `grant_type=client_credentials&client_id=…&client_secret=…` answers
//! `{"access_token","token_type":"Bearer","expires_in","scope"}`; the Table API then takes
//! `Authorization: Bearer <token>` until the token expires (401 after that, as on an instance),
//! beside Basic auth. The calls run as the OAuth Application User (the fake's user name).
//!
//! Errors follow the instance: a wrong client is 401 `{"error":"access_denied",
//! "error_description":"access_denied"}`; another grant type or a body that is not a form is
//! 400 `{"error":"unsupported_grant_type"}` / `{"error":"invalid_request"}`.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::json;

use crate::util::{self, Incoming, hex32, lock, now_ms};

/// The registered OAuth client and the tokens it was given.
#[derive(Default)]
pub(super) struct OAuth {
    state: Mutex<Option<Client>>,
}

struct Client {
    id: String,
    secret: String,
    lifetime_secs: u64,
    /// access token → expiry (unix ms)
    tokens: HashMap<String, u64>,
    issued: usize,
}

impl OAuth {
    /// Registers the OAuth client (replacing an earlier one; its tokens are forgotten).
    pub(super) fn register(&self, id: &str, secret: &str, lifetime_secs: u64) {
        *lock(&self.state) = Some(Client {
            id: id.to_owned(),
            secret: secret.to_owned(),
            lifetime_secs,
            tokens: HashMap::new(),
            issued: 0,
        });
    }

    /// Every token issued so far now answers 401.
    pub(super) fn expire_all(&self) {
        if let Some(c) = lock(&self.state).as_mut() {
            for expiry in c.tokens.values_mut() {
                *expiry = 0;
            }
        }
    }

    pub(super) fn issued(&self) -> usize {
        lock(&self.state).as_ref().map_or(0, |c| c.issued)
    }

    /// Whether the request carries a bearer token that is valid now.
    pub(super) fn accepts(&self, headers: &HeaderMap) -> bool {
        let Some(token) = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return false;
        };
        lock(&self.state)
            .as_ref()
            .and_then(|c| c.tokens.get(token.trim()))
            .is_some_and(|expiry| *expiry > now_ms())
    }

    /// `POST /oauth_token.do`.
    pub(super) fn token(&self, inc: &Incoming) -> Response {
        let error = |status: u16, code: &str| {
            util::json(
                status,
                &json!({"error": code, "error_description": code}),
                &[],
            )
        };
        if inc.method != "POST" {
            return error(405, "invalid_request");
        }
        let Ok(form) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&inc.body) else {
            return error(400, "invalid_request");
        };
        let get = |k: &str| {
            form.iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.as_str())
        };
        if get("grant_type") != Some("client_credentials") {
            return error(400, "unsupported_grant_type");
        }
        let mut state = lock(&self.state);
        let Some(client) = state.as_mut() else {
            return error(401, "access_denied");
        };
        if get("client_id") != Some(client.id.as_str())
            || get("client_secret") != Some(client.secret.as_str())
        {
            return error(401, "access_denied");
        }
        let token = hex32();
        client
            .tokens
            .insert(token.clone(), now_ms() + client.lifetime_secs * 1000);
        client.issued += 1;
        util::json(
            200,
            &json!({
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": client.lifetime_secs,
                "scope": "useraccount",
            }),
            &[],
        )
    }
}
