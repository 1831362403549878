//! The requests the functions receive, built one way for every caller: the in-process
//! stack, the inbound support, the local stack (which sends them over HTTP) and the bench.
//!
//! * [`Request`]: a method, a URL, the headers the client sends and a body. As a Lambda
//!   function-URL event (payload format 2.0, [`Request::event`]) or sent over HTTP
//!   ([`Request::send`]).
//! * [`signed_trigger`]: the ServiceNow business rule's POST, signed with the shared HMAC
//!   key (`X-Signature-Timestamp` and `X-Signature`).
//! * [`twilio_webhook`]: Twilio's form-encoded webhook, signed with the auth token
//!   (`X-Twilio-Signature`); [`twilio_request`] for one with any body and signature.
//! * [`scheduled_event`]: what EventBridge sends the sweeper on its schedule.

use escalation_adapters::clock::now_ms;
use escalation_adapters::signing::{SIGNATURE_HEADER, SigningKey, TIMESTAMP_HEADER};
use escalation_inbound::webhook_signature;
use serde_json::{Value, json};

/// incident-trigger's function URL as the tests' business rule calls it.
pub const TRIGGER_URL: &str = "https://abcdefgh.lambda-url.us-east-1.on.aws/";
/// The content type of a form-encoded body.
pub const FORM: &str = "application/x-www-form-urlencoded";

/// Who sends a request: its `User-Agent` and the address the function URL sees it from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller {
    pub user_agent: &'static str,
    pub source_ip: &'static str,
}

/// A ServiceNow instance (the business rule's REST message).
pub const SERVICENOW: Caller = Caller {
    user_agent: "ServiceNow/1.0",
    source_ip: "198.51.100.7",
};
/// Twilio's webhook proxy.
pub const TWILIO: Caller = Caller {
    user_agent: "TwilioProxy/1.1",
    source_ip: "54.172.60.1",
};

/// One HTTP request to a function URL.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// `https://HOST/PATH?QUERY` (or `http://` for the local emulator).
    pub url: String,
    /// What the client sends (lower-case names), in order; `User-Agent` first.
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub source_ip: &'static str,
}

impl Request {
    /// A request from `caller` with no body and only its `User-Agent`.
    pub fn new(caller: Caller, method: &str, url: &str) -> Request {
        Request {
            method: method.to_string(),
            url: url.to_string(),
            headers: vec![("user-agent".into(), caller.user_agent.into())],
            body: String::new(),
            source_ip: caller.source_ip,
        }
    }

    /// Adds (or replaces) a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Request {
        let name = name.to_ascii_lowercase();
        let value = value.into();
        match self.headers.iter_mut().find(|(k, _)| *k == name) {
            Some(slot) => slot.1 = value,
            None => self.headers.push((name, value)),
        }
        self
    }

    /// Adds every header of `headers`.
    pub fn with_headers<V: Clone + Into<String>>(self, headers: &[(&str, V)]) -> Request {
        headers
            .iter()
            .fold(self, |r, (k, v)| r.header(k, v.clone()))
    }

    pub fn with_body(mut self, body: impl Into<String>) -> Request {
        self.body = body.into();
        self
    }

    /// `(host, path, query)` of the URL; the path is empty when the URL has none.
    pub fn parts(&self) -> (&str, &str, &str) {
        let rest = self
            .url
            .split_once("://")
            .map_or(self.url.as_str(), |(_, r)| r);
        let (host, path_query) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
        (host, path, query)
    }

    /// The function-URL event (payload format 2.0) Lambda delivers for this request: the
    /// client's headers plus `host` and `x-forwarded-proto` from the URL front end.
    pub fn event(&self) -> Value {
        let (host, path, query) = self.parts();
        let api_id = host.split('.').next().unwrap_or(host);
        let mut headers = serde_json::Map::new();
        headers.insert("host".into(), json!(host));
        headers.insert("x-forwarded-proto".into(), json!("https"));
        for (k, v) in &self.headers {
            headers.insert(k.clone(), json!(v));
        }
        let user_agent = headers.get("user-agent").cloned().unwrap_or(json!(""));
        let raw_path = if path.is_empty() { "/" } else { path };
        json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": raw_path,
            "rawQueryString": query,
            "headers": headers,
            "requestContext": {
                "accountId": "anonymous",
                "apiId": api_id,
                "domainName": host,
                "domainPrefix": api_id,
                "http": {"method": self.method, "path": path, "protocol": "HTTP/1.1",
                         "sourceIp": self.source_ip, "userAgent": user_agent},
                "requestId": uuid::Uuid::new_v4().to_string(),
                "routeKey": "$default",
                "stage": "$default",
                "time": "21/Nov/2026:10:00:00 +0000",
                "timeEpoch": 1_795_255_200_000u64
            },
            "body": self.body,
            "isBase64Encoded": false
        })
    }

    /// The request as `http` would send it (method, URL, the client's headers, body).
    pub fn send(&self, http: &reqwest::Client) -> reqwest::RequestBuilder {
        let method =
            reqwest::Method::from_bytes(self.method.as_bytes()).unwrap_or(reqwest::Method::POST);
        let mut builder = http.request(method, &self.url);
        for (k, v) in &self.headers {
            builder = builder.header(k, v);
        }
        builder.body(self.body.clone())
    }
}

/// Seconds since the epoch, as the business rule stamps its requests.
pub fn now_secs() -> i64 {
    (now_ms() / 1000) as i64
}

/// The business rule's POST of `body` to `url`, signed with `key` now.
pub fn signed_trigger(key: &SigningKey, url: &str, body: &str, content_type: &str) -> Request {
    signed_trigger_at(key, url, body, content_type, now_secs())
}

/// [`signed_trigger`] stamped with `timestamp` (seconds since the epoch).
pub fn signed_trigger_at(
    key: &SigningKey,
    url: &str,
    body: &str,
    content_type: &str,
    timestamp: i64,
) -> Request {
    let ts = timestamp.to_string();
    let signature = key.sign(&ts, body.as_bytes());
    Request::new(SERVICENOW, "POST", url)
        .header("content-type", content_type)
        .header(TIMESTAMP_HEADER, ts)
        .header(SIGNATURE_HEADER, signature)
        .with_body(body)
}

/// Borrowed form parameters as the owned pairs signing and encoding take.
pub fn pairs(params: &[(&str, &str)]) -> Vec<(String, String)> {
    params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `params` form-encoded.
pub fn form_body(params: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs(params)).expect("form encoding")
}

/// A request from Twilio to `url` with `body`, signed with `signature` (none: no header).
/// Like every Twilio webhook it carries an `I-Twilio-Idempotency-Token`.
pub fn twilio_request(
    method: &str,
    url: &str,
    body: &str,
    content_type: &str,
    signature: Option<&str>,
) -> Request {
    let request = Request::new(TWILIO, method, url)
        .header("content-type", content_type)
        .header(
            "i-twilio-idempotency-token",
            uuid::Uuid::new_v4().to_string(),
        )
        .with_body(body);
    match signature {
        Some(sig) => request.header(webhook_signature::SIGNATURE_HEADER, sig),
        None => request,
    }
}

/// Twilio POSTing `params` form-encoded to `url`, signed with `auth_token` exactly as
/// Twilio signs it.
pub fn twilio_webhook(auth_token: &str, url: &str, params: &[(&str, &str)]) -> Request {
    let signature = webhook_signature::sign(auth_token, url, &pairs(params));
    twilio_request("POST", url, &form_body(params), FORM, Some(&signature))
}

/// What EventBridge sends on a schedule (the sweeper's rule).
pub fn scheduled_event() -> Value {
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-21T10:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/escalation-sweeper"],
        "detail": {}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_trigger_event_carries_the_business_rules_headers() {
        let key = SigningKey::from_base64("bG9jYWwtc3RhY2stc2hhcmVkLWtleS0zMi1ieXRlcyE=").unwrap();
        let event =
            signed_trigger_at(&key, TRIGGER_URL, "{}", "application/json", 1_795_255_200).event();
        let h = &event["headers"];
        assert_eq!(h["host"], "abcdefgh.lambda-url.us-east-1.on.aws");
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["user-agent"], "ServiceNow/1.0");
        assert_eq!(h["x-signature-timestamp"], "1795255200");
        assert_eq!(h["x-signature"], key.sign("1795255200", b"{}"));
        assert_eq!(event["rawPath"], "/");
        assert_eq!(event["requestContext"]["apiId"], "abcdefgh");
        assert_eq!(event["requestContext"]["http"]["sourceIp"], "198.51.100.7");
        assert_eq!(event["body"], "{}");
    }

    #[test]
    fn a_twilio_webhook_is_form_encoded_and_signed_for_its_url() {
        let url = "https://inbound0123.lambda-url.us-east-1.on.aws/voice/menu?a=1";
        let params = [("CallSid", "CA1"), ("Digits", "1 2")];
        let event = twilio_webhook("token", url, &params).event();
        let h = &event["headers"];
        assert_eq!(h["content-type"], FORM);
        assert_eq!(h["user-agent"], "TwilioProxy/1.1");
        assert!(h["i-twilio-idempotency-token"].is_string());
        assert_eq!(
            h["x-twilio-signature"],
            webhook_signature::sign("token", url, &pairs(&params))
        );
        assert_eq!(event["body"], "CallSid=CA1&Digits=1+2");
        assert_eq!(event["rawPath"], "/voice/menu");
        assert_eq!(event["rawQueryString"], "a=1");
        assert_eq!(event["requestContext"]["domainPrefix"], "inbound0123");
    }
}
