//! Driving the voice-inbound handler in tests: a [`Stack`] (moto, the fakes, the real
//! app) plus an inbound configuration, and webhook requests built and signed exactly as
//! Twilio sends them (function-URL events with form-encoded bodies and
//! `X-Twilio-Signature`), with small helpers to read the TwiML that comes back.

use crate::kit;
use crate::stack::{ACCOUNT_SID, API_KEY_SECRET, API_KEY_SID, FROM_NUMBER, Stack, StackOptions};
use escalation_adapters::aws::DynamoBridgeLog;
use escalation_adapters::clock::SystemClock;
use escalation_adapters::retry::RetryPolicy;
use escalation_adapters::servicenow::SnClient;
use escalation_adapters::signing::BridgeKey;
use escalation_adapters::twilio::{AccountClient, CallsClient};
use escalation_core::model::E164;
use escalation_inbound::Inbound;
use escalation_inbound::bridge::BridgePorts;
use escalation_inbound::config::InboundConfig;
use escalation_inbound::webhook_signature as twilio_webhook;
use escalation_lambda::handlers::inbound;
use serde_json::{Value, json};
use std::sync::Arc;

pub use crate::fixture::AUTH_TOKEN;
/// The escalation line (the same Twilio number places the Studio calls).
pub const LINE: &str = FROM_NUMBER;
/// A second line that admits withheld and unknown numbers with a PIN.
pub const PIN_LINE: &str = "+15550108888";
pub const PIN: &str = "246810";
/// The function URL's host as Lambda reports it.
pub const HOST: &str = "inbound0123.lambda-url.us-east-1.on.aws";
pub const BASE: &str = "https://inbound0123.lambda-url.us-east-1.on.aws";
pub const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
/// The Database team's assignment group.
pub const DB_GROUP: &str = "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0";

/// The inbound configuration the tests use, for the stack's test roster: team 1
/// (Database: Bob, then Carol; P1), team 2 (Network: everyone; impact and urgency 3, so
/// P5, which does not escalate); and a PIN line.
pub fn test_config() -> Value {
    json!({
        "transcription_wait_secs": 1,
        "servicenow_budget_secs": 8,
        "numbers": [
            {
                "number": LINE,
                "name": "IT escalation line",
                "voice": "Polly.Joanna",
                "language": "en-US",
                "callers": {"default_country_code": "1"},
                "live": {"ring_timeout_secs": 15, "max_people": 2, "whisper_timeout_secs": 6},
                "sms": {"enabled": true, "group": 1},
                "groups": [
                    {"digit": 1, "name": "Database", "assignment_group": DB_GROUP,
                     "people": ["Bob Agent", "Carol Manager"],
                     "incident": {"impact": 1, "urgency": 1, "fields": {"category": "database"}}},
                    {"digit": 2, "name": "Network", "incident": {"impact": 3, "urgency": 3}}
                ]
            },
            {
                "number": PIN_LINE,
                "name": "night line",
                "callers": {"roster": false, "servicenow_users": false, "withheld": "pin", "unknown": "pin",
                            "pin_sha256": twilio_webhook::sha256_hex(PIN.as_bytes())},
                "sms": {"enabled": false},
                "groups": [{"digit": 1, "name": "Site reliability"}]
            }
        ]
    })
}

/// A Twilio SID: two letters and 32 hex digits derived from `n`.
pub fn sid(prefix: &str, n: u64) -> String {
    format!("{prefix}{n:032x}")
}

/// What the handler answered.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

impl Reply {
    /// Values of attribute `attr` on every `<element ...>` in document order.
    pub fn attrs(&self, element: &str, attr: &str) -> Vec<String> {
        let mut out = Vec::new();
        let open = format!("<{element}");
        let mut rest = self.body.as_str();
        while let Some(i) = rest.find(&open) {
            let after = &rest[i + open.len()..];
            if !after.starts_with([' ', '>', '/']) {
                rest = after;
                continue;
            }
            let tag_end = after.find('>').unwrap_or(after.len());
            let tag = &after[..tag_end];
            let key = format!(" {attr}=\"");
            if let Some(k) = tag.find(&key) {
                let v = &tag[k + key.len()..];
                out.push(unescape(&v[..v.find('"').unwrap_or(v.len())]));
            }
            rest = &after[tag_end..];
        }
        out
    }

    /// Text content of every `<element>...</element>` in document order.
    pub fn texts(&self, element: &str) -> Vec<String> {
        let mut out = Vec::new();
        let open = format!("<{element}");
        let close = format!("</{element}>");
        let mut rest = self.body.as_str();
        while let Some(i) = rest.find(&open) {
            let after = &rest[i + open.len()..];
            if !after.starts_with([' ', '>']) {
                rest = after;
                continue;
            }
            let Some(gt) = after.find('>') else { break };
            if after[..gt].ends_with('/') {
                rest = &after[gt..];
                continue;
            }
            let content = &after[gt + 1..];
            let end = content.find(&close).unwrap_or(content.len());
            out.push(unescape(&content[..end]));
            rest = &content[end..];
        }
        out
    }

    /// Everything `<Say>` says, joined.
    pub fn said(&self) -> String {
        self.texts("Say").join(" ")
    }

    /// Whether the document contains the element.
    pub fn has(&self, element: &str) -> bool {
        self.body.contains(&format!("<{element} "))
            || self.body.contains(&format!("<{element}>"))
            || self.body.contains(&format!("<{element}/>"))
    }

    /// The first `action` of a `<Gather>`, `<Record>` or `<Dial>`.
    pub fn action(&self) -> String {
        self.try_action()
            .unwrap_or_else(|| panic!("no action in {}", self.body))
    }

    /// Where Twilio posts next (`<Gather>`, `<Record>` or `<Dial>` action), if anywhere.
    pub fn try_action(&self) -> Option<String> {
        ["Gather", "Record", "Dial"]
            .iter()
            .find_map(|e| self.attrs(e, "action").into_iter().next())
    }
}

/// The stack plus the inbound line.
pub struct InboundStack {
    pub stack: Stack,
    pub config: InboundConfig,
    /// Put-through calls become conference bridges (voice-inbound's `CONFERENCE_BRIDGE`).
    pub put_through_bridge: bool,
}

impl InboundStack {
    pub async fn start(config: Value) -> InboundStack {
        Self::start_with(config, StackOptions::default()).await
    }

    pub async fn start_with(config: Value, opts: StackOptions) -> InboundStack {
        let stack = Stack::start(opts).await;
        let config = InboundConfig::from_json(&config.to_string(), &stack.parts.roster)
            .expect("test inbound config");
        InboundStack {
            stack,
            config,
            put_through_bridge: false,
        }
    }

    /// The handler's context, as `voice-inbound` builds it (without `PUBLIC_BASE_URL`).
    pub fn inbound(&self) -> Inbound {
        let parts = &self.stack.parts;
        Inbound {
            engine: self.stack.engine.clone(),
            directory: Arc::new(self.servicenow()),
            marks: parts.repo.clone(),
            outbox: parts.outbox.clone(),
            clock: Arc::new(SystemClock),
            roster: parts.roster.clone(),
            config: self.config.clone(),
            auth_token: AUTH_TOKEN.to_string(),
            public_base_url: None,
            bridge: Some(self.bridge_ports()),
        }
    }

    /// The conference bridge's ports as voice-inbound builds them: the Calls API on the
    /// Twilio fake, the callback log on moto, the capability key from the trigger key.
    pub fn bridge_ports(&self) -> BridgePorts {
        let s = &self.stack;
        BridgePorts {
            capability: Arc::new(BridgeKey::derive(&s.key)),
            calls: Arc::new(CallsClient::new(AccountClient::new(
                s.aws.http.clone(),
                &s.twilio.base_url(),
                ACCOUNT_SID,
                (API_KEY_SID, API_KEY_SECRET),
                RetryPolicy::fast(),
            ))),
            log: Arc::new(DynamoBridgeLog::new(
                aws_sdk_dynamodb::Client::new(&s.sdk),
                &s.resources.table,
            )),
            from: E164::parse(FROM_NUMBER).expect("the line's number"),
            ring_timeout_secs: 30,
            put_through: self.put_through_bridge,
        }
    }

    /// The ServiceNow client the functions use.
    pub fn servicenow(&self) -> SnClient {
        self.stack
            .aws
            .servicenow(&self.stack.sn.base_url())
            .expect("ServiceNow client")
    }

    /// A function-URL event (payload 2.0) of Twilio sending `body` to `url`, signed with
    /// `signature` (none: no header).
    pub fn event(
        url: &str,
        method: &str,
        body: &str,
        content_type: &str,
        signature: Option<&str>,
    ) -> Value {
        kit::twilio_request(method, url, body, content_type, signature).event()
    }

    /// Run the handler on a raw function-URL event, then let the update queue's consumer
    /// write what the webhook queued (as the event source mapping would, moments later).
    pub async fn send(&self, event: &Value) -> Reply {
        self.send_to(&self.inbound(), event).await
    }

    /// [`InboundStack::send`] with a handler context of the test's own.
    pub async fn send_to(&self, line: &Inbound, event: &Value) -> Reply {
        let req = lambda_http::request::from_str(&event.to_string()).expect("function URL event");
        let resp = inbound::handle(line, req)
            .await
            .expect("the handler never errs");
        while self.stack.pump_sqs().await.is_some() {}
        Reply {
            status: resp.status().as_u16(),
            content_type: resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string(),
            body: String::from_utf8_lossy(resp.body().as_ref()).into_owned(),
        }
    }

    /// POST `params` form-encoded to `url` (absolute, or a path on [`BASE`]), signed with
    /// the auth token exactly as Twilio signs it.
    pub async fn post(&self, url: &str, params: &[(&str, &str)]) -> Reply {
        let url = if url.starts_with("https://") {
            url.to_string()
        } else {
            format!("{BASE}{url}")
        };
        self.send(&Self::signed_webhook(&url, params)).await
    }

    /// The function-URL event of Twilio posting `params` form-encoded to `url`, signed
    /// with [`AUTH_TOKEN`] exactly as Twilio signs it.
    pub fn signed_webhook(url: &str, params: &[(&str, &str)]) -> Value {
        kit::twilio_webhook(AUTH_TOKEN, url, params).event()
    }
}

/// The parameters Twilio sends with every request of an inbound call, plus `extra`.
pub fn call_params<'a>(
    call_sid: &'a str,
    from: &'a str,
    to: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut p = vec![
        ("AccountSid", ACCOUNT),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", call_sid),
        ("CallStatus", "in-progress"),
        ("Called", to),
        ("Caller", from),
        ("Direction", "inbound"),
        ("From", from),
        ("To", to),
    ];
    for (k, v) in extra {
        if let Some(slot) = p.iter_mut().find(|(name, _)| name == k) {
            slot.1 = v;
        } else {
            p.push((k, v));
        }
    }
    p
}

/// The parameters of an incoming text message.
pub fn sms_params<'a>(
    message_sid: &'a str,
    from: &'a str,
    to: &'a str,
    body: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("AccountSid", ACCOUNT),
        ("ApiVersion", "2010-04-01"),
        ("Body", body),
        ("From", from),
        ("MessageSid", message_sid),
        ("NumMedia", "0"),
        ("NumSegments", "1"),
        ("SmsMessageSid", message_sid),
        ("SmsSid", message_sid),
        ("SmsStatus", "received"),
        ("To", to),
    ]
}

/// The URL of a recording as Twilio reports it.
pub fn recording_url(recording_sid: &str) -> String {
    format!("https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/{recording_sid}")
}

/// The in-process stack (the same handlers, called as functions) plus the escalation line
/// (voice-inbound's handler).
use crate::scenario::ScenarioIncident;
use escalation_core::escalation::Escalation;
use escalation_fakes::servicenow::ServiceNowHandle;
use escalation_fakes::twilio::TwilioHandle;

impl crate::play::Driver for InboundStack {
    fn mode(&self) -> &'static str {
        "in-process handlers"
    }

    fn sn(&self) -> &ServiceNowHandle {
        &self.stack.sn
    }

    fn twilio(&self) -> &TwilioHandle {
        &self.stack.twilio
    }

    async fn trigger(&self, sys_id: &str, inc: &ScenarioIncident) -> Result<(u16, Value), String> {
        Ok(self
            .stack
            .trigger_group(
                sys_id,
                &inc.number,
                &inc.short_description,
                &inc.priority,
                inc.group.as_deref(),
            )
            .await)
    }

    async fn pump(&self) -> Result<bool, String> {
        let d = self.stack.pump_dials().await.is_some();
        let k = self.stack.pump_kinesis().await.is_some();
        let s = self.stack.pump_sqs().await.is_some();
        Ok(d || k || s)
    }

    async fn sweep(&self) -> Result<(), String> {
        self.stack
            .engine
            .sweep()
            .await
            .map(|_| ())
            .map_err(|e| format!("sweep: {e}"))
    }

    async fn escalation(&self, sys_id: &str) -> Result<Option<Escalation>, String> {
        Ok(self.stack.escalation(sys_id).await.map(|s| s.escalation))
    }

    async fn send_to_trigger(&self, body: &str) -> Result<(u16, Value), String> {
        let event = self.stack.signed_event(body, "application/json");
        Ok(self.stack.invoke_trigger(&event).await)
    }

    async fn webhook(&self, url: &str, params: &[(&str, &str)]) -> Result<Reply, String> {
        Ok(self.post(url, params).await)
    }
}
