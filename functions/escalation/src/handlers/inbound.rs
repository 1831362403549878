//! `voice-inbound`: the function URL Twilio calls for the escalation number's voice calls
//! and text messages. Every request's `X-Twilio-Signature` is checked first; a bad or
//! missing one gets 403 and nothing else happens. Then the path picks the step
//! (`inbound::voice`, `inbound::sms`) and the answer is TwiML.

use crate::app::AwsApp;
use crate::config::{ConfigError, Secrets};
use crate::inbound::config::InboundConfig;
use crate::inbound::state::CallState;
use crate::inbound::{Inbound, Webhook};
use crate::outbox::{SqsQueue, UpdateQueue};
use crate::roster::Roster;
use crate::servicenow::{ServiceNow, SnClient};
use crate::store::{DynamoStore, EscalationStore};
use crate::twilio::{Studio, StudioClient};
use crate::twilio_webhook::{self, SIGNATURE_HEADER};
use lambda_http::http::{Method, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};

/// Twilio's webhooks are small; anything bigger is not from Twilio.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The production context, built once per container.
pub type AwsInbound = Inbound<'static, DynamoStore, StudioClient, SqsQueue, SnClient>;

fn text(status: StatusCode, body: &str) -> Response<Body> {
    let mut resp = Response::new(Body::Text(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

fn twiml(xml: String) -> Response<Body> {
    let mut resp = Response::new(Body::Text(xml));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    resp
}

/// Handle one webhook. Never returns `Err`: every failure is an HTTP answer.
pub async fn handle<S: EscalationStore, T: Studio, Q: UpdateQueue, N: ServiceNow>(
    inbound: &Inbound<'_, S, T, Q, N>,
    req: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    let header_str = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let raw_path = match req.raw_http_path() {
        "" => req.uri().path().to_string(),
        p => p.to_string(),
    };
    let path = raw_path.trim_end_matches('/').to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let body: &[u8] = req.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        tracing::warn!(path = %path, bytes = body.len(), "inbound webhook refused: body too large");
        return Ok(text(StatusCode::PAYLOAD_TOO_LARGE, "body too large"));
    }
    let proto = header_str("x-forwarded-proto");
    let host = header_str("host");
    let Some(url) = twilio_webhook::public_url(
        inbound.public_base_url,
        proto,
        host,
        &raw_path,
        Some(&query),
    ) else {
        tracing::warn!(path = %path, "inbound webhook refused: no Host header and no PUBLIC_BASE_URL to rebuild the signed URL");
        return Ok(text(StatusCode::FORBIDDEN, "forbidden"));
    };
    let signature = header_str(SIGNATURE_HEADER);
    let is_json = header_str(header::CONTENT_TYPE.as_str())
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("application/json"));
    let params = if is_json {
        Vec::new()
    } else {
        match twilio_webhook::parse_form(body) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(path = %path, error = %e, "inbound webhook refused: unreadable form body");
                return Ok(text(StatusCode::FORBIDDEN, "forbidden"));
            }
        }
    };
    let verified = if is_json {
        twilio_webhook::verify_json(inbound.auth_token, &url, body, signature)
    } else {
        twilio_webhook::verify_form(inbound.auth_token, &url, &params, signature)
    };
    if let Err(e) = verified {
        tracing::warn!(path = %path, reason = %e, "inbound webhook refused: X-Twilio-Signature check failed");
        return Ok(text(StatusCode::FORBIDDEN, "forbidden"));
    }
    if req.method() != Method::POST {
        let mut resp = text(StatusCode::METHOD_NOT_ALLOWED, "use POST");
        resp.headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
        return Ok(resp);
    }
    if is_json {
        return Ok(text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "these webhooks take application/x-www-form-urlencoded",
        ));
    }
    let base = twilio_webhook::public_url(inbound.public_base_url, proto, host, "", None)
        .map(|u| u.trim_end_matches('/').to_string())
        .unwrap_or_default();
    let state = match CallState::from_query(&query) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(path = %path, error = %e, "signed request with an unreadable call state");
            CallState::default()
        }
    };
    let hook = Webhook {
        base,
        state,
        params: twilio_webhook::first_values(&params),
    };
    if path == "/sms" {
        return Ok(twiml(inbound.sms(&hook).await.to_xml()));
    }
    match inbound.voice(&path, &hook).await {
        Some(resp) => Ok(twiml(resp.to_xml())),
        None => Ok(text(StatusCode::NOT_FOUND, "no such webhook")),
    }
}

/// The auth token from the secret; voice-inbound cannot check signatures without it.
pub fn auth_token(secrets: &Secrets, arn: &str) -> Result<String, ConfigError> {
    secrets
        .twilio_auth_token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty() && *t != "FILL_ME")
        .map(str::to_string)
        .ok_or_else(|| ConfigError::Secret {
            arn: arn.to_string(),
            problem: "twilio_auth_token is missing, empty or still the FILL_ME placeholder; voice-inbound needs the Twilio account's primary Auth Token to check X-Twilio-Signature".into(),
        })
}

/// Load the inbound configuration: `INBOUND_CONFIG_PATH`, or the bundled file, checked
/// against the app's roster.
pub fn inbound_config(roster: &Roster, path: Option<&str>) -> Result<InboundConfig, ConfigError> {
    let loaded = match path {
        Some(p) => InboundConfig::load(std::path::Path::new(p), roster),
        None => InboundConfig::bundled(roster),
    };
    loaded.map_err(|e| ConfigError::Invalid {
        name: "INBOUND_CONFIG_PATH",
        problem: e.to_string(),
    })
}

/// Container start-up for voice-inbound: the shared app (`handlers::boot`), the inbound
/// configuration, `PUBLIC_BASE_URL`, and the auth token from the secret. A problem is
/// logged, naming what is wrong, and ends the init.
pub async fn boot_inbound() -> Result<&'static AwsInbound, lambda_runtime::Error> {
    let app: &'static AwsApp = super::boot().await?;
    let result = async {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let (secrets, _) = Secrets::fetch(
            &aws_sdk_secretsmanager::Client::new(&sdk),
            &app.config.secrets_arn,
        )
        .await?;
        let token = auth_token(&secrets, &app.config.secrets_arn)?;
        let env = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let config = inbound_config(&app.roster, env("INBOUND_CONFIG_PATH").as_deref())?;
        let base = match env("PUBLIC_BASE_URL") {
            Some(b) if b.starts_with("https://") || b.starts_with("http://") => {
                Some(b.trim_end_matches('/').to_string())
            }
            Some(b) => {
                return Err(ConfigError::Invalid {
                    name: "PUBLIC_BASE_URL",
                    problem: format!("{b:?} is not an http(s) URL"),
                });
            }
            None => None,
        };
        Ok::<_, ConfigError>((token, config, base))
    }
    .await;
    match result {
        Ok((token, config, base)) => {
            tracing::info!(numbers = config.numbers.len(), public_base_url = ?base, "voice-inbound ready");
            let inbound = Inbound {
                app,
                config: Box::leak(Box::new(config)),
                auth_token: Box::leak(token.into_boxed_str()),
                public_base_url: base.map(|b| &*Box::leak(b.into_boxed_str())),
            };
            Ok(Box::leak(Box::new(inbound)))
        }
        Err(e) => {
            tracing::error!(error = %e, "configuration error");
            Err(e.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_to_start_without_the_auth_token() {
        let json = r#"{"twilio_account_sid":"ACx","twilio_api_key_sid":"SKx","twilio_api_key_secret":"s","servicenow_username":"u","servicenow_password":"p","trigger_hmac_key":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}"#;
        let (s, _) = Secrets::parse("arn:x", json).unwrap();
        let e = auth_token(&s, "arn:x").unwrap_err().to_string();
        assert!(
            e.contains("twilio_auth_token") && e.contains("arn:x"),
            "{e}"
        );
        let with = json.replace('}', r#","twilio_auth_token":"  "}"#);
        let (s, _) = Secrets::parse("arn:x", &with).unwrap();
        assert!(auth_token(&s, "arn:x").is_err(), "blank token refused");
        let with = json.replace('}', r#","twilio_auth_token":"FILL_ME"}"#);
        let (s, _) = Secrets::parse("arn:x", &with).unwrap();
        assert!(
            auth_token(&s, "arn:x").is_err(),
            "template placeholder refused"
        );
        let with = json.replace('}', r#","twilio_auth_token":"tok-123"}"#);
        let (s, _) = Secrets::parse("arn:x", &with).unwrap();
        assert_eq!(auth_token(&s, "arn:x").unwrap(), "tok-123");
        assert!(!format!("{s:?}").contains("tok-123"));
    }
}
