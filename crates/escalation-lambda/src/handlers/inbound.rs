//! `voice-inbound`: the function URL Twilio calls for the escalation number's voice calls
//! and text messages. Every request's `X-Twilio-Signature` is checked first; a bad or
//! missing one gets 403 and nothing else happens. Then the path picks the step
//! (`inbound::voice`, `inbound::sms`) and the answer is TwiML.

use crate::config::{ConfigError, Env};
use crate::wiring::{Aws, EngineParts};
use escalation_adapters::aws::DynamoBridgeLog;
use escalation_adapters::clock::SystemClock;
use escalation_adapters::secrets::{Field, Secrets};
use escalation_adapters::signing::BridgeKey;
use escalation_adapters::twilio::{AccountClient, CallsClient};
use escalation_core::model::E164;
use escalation_core::model::Roster;
use escalation_inbound::bridge::{BridgePorts, BridgeRef};
use escalation_inbound::config::InboundConfig;
use escalation_inbound::state::CallState;
use escalation_inbound::webhook_signature::{self as twilio_webhook, SIGNATURE_HEADER};
use escalation_inbound::{Inbound, Webhook};
use lambda_http::http::{Method, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use std::collections::HashMap;
use std::sync::Arc;

/// Twilio's webhooks are small; anything bigger is not from Twilio.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

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
pub async fn handle(inbound: &Inbound, req: Request) -> Result<Response<Body>, lambda_http::Error> {
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
        inbound.public_base_url.as_deref(),
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
        twilio_webhook::verify_json(&inbound.auth_token, &url, body, signature)
    } else {
        twilio_webhook::verify_form(&inbound.auth_token, &url, &params, signature)
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
    let base =
        twilio_webhook::public_url(inbound.public_base_url.as_deref(), proto, host, "", None)
            .map(|u| u.trim_end_matches('/').to_string())
            .unwrap_or_default();
    if path.starts_with("/bridge/") {
        let at = match BridgeRef::from_query(&query) {
            Ok(at) => at,
            Err(e) => {
                tracing::warn!(path = %path, error = %e, "bridge request refused: no bridge reference");
                return Ok(text(StatusCode::FORBIDDEN, "forbidden"));
            }
        };
        if !inbound.bridge.as_ref().is_some_and(|b| at.is_genuine(b)) {
            tracing::warn!(path = %path, escalation = %at.escalation_id, "bridge request refused: the capability does not match");
            return Ok(text(StatusCode::FORBIDDEN, "forbidden"));
        }
        let hook = Webhook {
            base,
            state: CallState::default(),
            params: twilio_webhook::first_values(&params),
        };
        return match inbound.bridge(&path, &hook, &at).await {
            Some(resp) => Ok(twiml(resp.to_xml())),
            None => Ok(text(StatusCode::NOT_FOUND, "no such webhook")),
        };
    }
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

/// Load the inbound configuration: `INBOUND_CONFIG_PATH`, or the bundled file, checked
/// against the roster.
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

/// The auth token from the secret; voice-inbound cannot check signatures without it.
pub fn auth_token(secrets: &Secrets) -> Result<&str, ConfigError> {
    secrets.require(Field::TwilioAuthToken).map_err(|e| {
        ConfigError::Other(format!(
            "{e}; voice-inbound needs the Twilio account's primary Auth Token to check X-Twilio-Signature"
        ))
    })
}

/// voice-inbound's context: the engine (to start escalations), ServiceNow, the inbound
/// configuration, `PUBLIC_BASE_URL` and the auth token that signs Twilio's webhooks.
pub fn build(
    env: &HashMap<String, String>,
    aws: &Aws,
    parts: &EngineParts,
) -> Result<Inbound, ConfigError> {
    let env = Env(env);
    let servicenow = Arc::new(aws.servicenow(&env.required_url("SERVICENOW_INSTANCE_URL")?)?);
    let token = auth_token(&aws.secrets)?;
    Ok(Inbound {
        engine: parts.engine(),
        directory: servicenow,
        marks: parts.repo.clone(),
        outbox: parts.outbox.clone(),
        clock: Arc::new(SystemClock),
        config: inbound_config(&parts.roster, env.get("INBOUND_CONFIG_PATH").as_deref())?,
        roster: parts.roster.clone(),
        auth_token: token.to_string(),
        public_base_url: env.optional_url("PUBLIC_BASE_URL")?,
        bridge: Some(bridge_ports(&env, aws, parts)?),
    })
}

/// The conference bridge's ports: the Calls API (`TWILIO_API_BASE_URL`, default
/// `https://api.twilio.com`, with the functions' API key), the callback log in the table,
/// the capability key (derived from the trigger key, as the dialer's), the caller ID, and
/// whether put-through calls become bridges too.
fn bridge_ports(env: &Env<'_>, aws: &Aws, parts: &EngineParts) -> Result<BridgePorts, ConfigError> {
    let from = E164::parse(&env.need("TWILIO_FROM_NUMBER")?)
        .map_err(|e| Env::invalid("TWILIO_FROM_NUMBER", e.to_string()))?;
    let calls = CallsClient::new(AccountClient::new(
        aws.http.clone(),
        &env.optional_url("TWILIO_API_BASE_URL")?
            .unwrap_or_else(|| escalation_adapters::twilio::account::API_BASE_URL.into()),
        aws.secrets.require(Field::TwilioAccountSid)?,
        (
            aws.secrets.require(Field::TwilioApiKeySid)?,
            aws.secrets.require(Field::TwilioApiKeySecret)?,
        ),
        aws.retry.clone(),
    ));
    Ok(BridgePorts {
        capability: Arc::new(BridgeKey::derive(&aws.secrets.signing_key()?)),
        calls: Arc::new(calls),
        log: Arc::new(DynamoBridgeLog::new(
            aws_sdk_dynamodb::Client::new(&aws.sdk),
            &env.need("ESCALATIONS_TABLE")?,
        )),
        from,
        ring_timeout_secs: parts.settings.policy.ring_timeout_secs,
        put_through: conference_bridge(env)?,
    })
}

/// `CONFERENCE_BRIDGE` (the template's ConferenceBridge): put-through calls become
/// conference bridges. Off unless `true`.
fn conference_bridge(env: &Env<'_>) -> Result<bool, ConfigError> {
    match env.get("CONFERENCE_BRIDGE").as_deref().map(str::trim) {
        None | Some("") | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(Env::invalid(
            "CONFERENCE_BRIDGE",
            format!("must be true or false, not {other:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conference_bridge_is_off_unless_true_and_a_typo_is_named() {
        let env = |v: Option<&str>| {
            let mut m = HashMap::new();
            if let Some(v) = v {
                m.insert("CONFERENCE_BRIDGE".to_string(), v.to_string());
            }
            m
        };
        for (value, on) in [
            (None, false),
            (Some(""), false),
            (Some("false"), false),
            (Some("true"), true),
        ] {
            let m = env(value);
            assert_eq!(conference_bridge(&Env(&m)).unwrap(), on, "{value:?}");
        }
        let m = env(Some("yes"));
        let e = conference_bridge(&Env(&m)).unwrap_err().to_string();
        assert!(
            e.contains("CONFERENCE_BRIDGE") && e.contains("\"yes\""),
            "{e}"
        );
    }

    #[test]
    fn refuses_to_start_without_the_auth_token() {
        let json = r#"{"twilio_account_sid":"ACx","twilio_api_key_sid":"SKx","twilio_api_key_secret":"s","servicenow_username":"u","servicenow_password":"p","trigger_hmac_key":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}"#;
        let with = |token: &str| {
            Secrets::parse(
                "arn:x",
                &json.replace('}', &format!(r#","twilio_auth_token":{token}}}"#)),
            )
            .unwrap()
        };
        let e = auth_token(&Secrets::parse("arn:x", json).unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("twilio_auth_token")
                && e.contains("arn:x")
                && e.contains("X-Twilio-Signature"),
            "{e}"
        );
        assert!(auth_token(&with(r#""  ""#)).is_err(), "blank token refused");
        assert!(
            auth_token(&with(r#""FILL_ME""#)).is_err(),
            "template placeholder refused"
        );
        let s = with(r#""tok-123""#);
        assert_eq!(auth_token(&s).unwrap(), "tok-123");
        assert!(!format!("{s:?}").contains("tok-123"));
    }
}
