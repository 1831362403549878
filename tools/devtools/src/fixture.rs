//! What every stack of these tools shares: the credentials in the secret, the test roster,
//! the ServiceNow and Twilio fakes started with them, and the functions' environment. The
//! in-process stack ([`crate::stack`]), the local stack ([`crate::local`]) and the bench
//! start from here, so the binaries and the in-process handlers see the same world.

use crate::aws::Resources;
use escalation_core::model::Roster;
use escalation_fakes::servicenow::{ServiceNowFake, ServiceNowHandle};
use escalation_fakes::twilio::{EventSink, TwilioFake, TwilioFakeConfig, TwilioHandle};
use serde_json::json;

pub const FLOW_SID: &str = "FW0123456789abcdef0123456789abcdef";
pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const API_KEY_SID: &str = "SK0123456789abcdef0123456789abcdef";
pub const API_KEY_SECRET: &str = "local-twilio-secret";
pub const FROM_NUMBER: &str = "+15550109999";
pub const SN_USER: &str = "svc_escalation";
pub const SN_PASSWORD: &str = "local-sn-password";
/// base64 of 32 bytes, the form ServiceNow's generateMac takes.
pub const HMAC_KEY_B64: &str = "bG9jYWwtc3RhY2stc2hhcmVkLWtleS0zMi1ieXRlcyE=";
/// The auth token the test webhooks are signed with.
pub const AUTH_TOKEN: &str = "local-twilio-auth-token-0123456789";

/// The sample roster shipped for the local stack (fictional people; the functions refuse it
/// unless `LOCAL_STACK=true`). Dev tools only: no Lambda compiles a roster in.
pub const SAMPLE_ROSTER: &str = include_str!("../../../assets/agent_list.json");

/// The roster tests use: two agents, one escalation contact, all mapped to SN users.
pub const TEST_ROSTER: &str = r#"{
  "agent_list": [
    {"name": "Alice Agent", "phone_no": "+15550100001", "role": "primary", "index": 0, "sn_user": "alice.agent"},
    {"name": "Bob Agent", "phone_no": "+15550100002", "role": "secondary", "index": 1, "sn_user": "bob.agent"}
  ],
  "escalation_list": [
    {"name": "Carol Manager", "phone_no": "+15550100003", "role": "manager", "index": 0, "sn_user": "carol.manager"}
  ]
}"#;

pub const ALICE: &str = "+15550100001";
pub const BOB: &str = "+15550100002";
pub const CAROL: &str = "+15550100003";

/// 32 hex digits derived from `text` (its bytes in hex, cut or padded with zeros): a
/// stable sys_id for a name or an incident number.
pub fn hex_id(text: &str) -> String {
    let mut id: String = text.bytes().map(|b| format!("{b:02x}")).collect();
    id.truncate(32);
    format!("{id:0<32}")
}

/// sys_ids the ServiceNow fake gives the roster's users.
pub fn user_sys_id(user_name: &str) -> String {
    hex_id(user_name)
}

/// The functions' secret (Secrets Manager JSON).
pub fn secret_json() -> String {
    json!({
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_api_key_sid": API_KEY_SID,
        "twilio_api_key_secret": API_KEY_SECRET,
        "servicenow_username": SN_USER,
        "servicenow_password": SN_PASSWORD,
        "trigger_hmac_key": HMAC_KEY_B64,
        "twilio_auth_token": AUTH_TOKEN,
    })
    .to_string()
}

/// The functions' secret signing in to ServiceNow with an OAuth client instead of the
/// integration user's password (which it does not hold).
pub fn oauth_secret_json(client_id: &str, client_secret: &str) -> String {
    let mut secret: serde_json::Value = serde_json::from_str(&secret_json()).expect("JSON");
    let fields = secret.as_object_mut().expect("an object");
    fields.remove("servicenow_username");
    fields.remove("servicenow_password");
    fields.insert("servicenow_client_id".into(), client_id.into());
    fields.insert("servicenow_client_secret".into(), client_secret.into());
    secret.to_string()
}

/// The ServiceNow fake with our credentials, and every person of `roster` who has a
/// ServiceNow user as that user (sys_id [`user_sys_id`]), with the update set's cancel rule
/// installed (priorities 1 and 2; our own writes as [`SN_USER`] never cancel), and Beth
/// Anglin, who works incidents in the UI.
pub async fn servicenow_fake(roster: &Roster) -> ServiceNowHandle {
    let sn = ServiceNowFake::start(SN_USER, SN_PASSWORD).await;
    sn.install_cancel_rule(&["1", "2"], SN_USER);
    sn.add_user(
        &user_sys_id("beth.anglin"),
        "beth.anglin",
        "Beth Anglin",
        "+1 555 010 0099",
    );
    for p in roster.people() {
        if let Some(u) = &p.sn_user {
            sn.add_user(&user_sys_id(u), u, &p.name, p.phone.as_str());
        }
    }
    sn
}

/// The Twilio fake with our account, API key and flow.
pub async fn twilio_fake(
    events: EventSink,
    rate_limit_per_sec: u32,
    auto_end: bool,
) -> TwilioHandle {
    let twilio = TwilioFake::start(TwilioFakeConfig {
        account_sid: ACCOUNT_SID.into(),
        username: API_KEY_SID.into(),
        password: API_KEY_SECRET.into(),
        flow_sid: FLOW_SID.into(),
        events,
        rate_limit_per_sec,
        auto_end,
    })
    .await;
    twilio.install_flow(shipped_flow());
    twilio
}

/// The Studio flow the product ships (`infra/twilio/escalation-flow.json`): the fake's
/// executions follow it, so a flow that would not detect voicemail fails the tests.
pub fn shipped_flow() -> serde_json::Value {
    serde_json::from_str(include_str!("../../../infra/twilio/escalation-flow.json"))
        .expect("the shipped flow is JSON")
}

/// The Twilio fake's events onto the stack's Kinesis stream, as a Twilio Kinesis sink.
pub fn kinesis_sink(sdk: &aws_config::SdkConfig, resources: &Resources) -> EventSink {
    EventSink::Kinesis {
        client: aws_sdk_kinesis::Client::new(sdk),
        stream_name: resources.stream_name.clone(),
    }
}

/// The functions' environment (as `template.yaml` gives it), pointed at moto's resources,
/// the ServiceNow fake and the Studio base URL (without `ROSTER_PATH`).
pub fn function_env(
    resources: &Resources,
    servicenow_url: &str,
    studio_url: &str,
) -> Vec<(String, String)> {
    [
        ("TWILIO_FLOW_SID", FLOW_SID),
        ("TWILIO_FROM_NUMBER", FROM_NUMBER),
        ("ESCALATIONS_TABLE", &resources.table),
        ("SN_UPDATES_QUEUE_URL", &resources.queue_url),
        ("DIAL_QUEUE_URL", &resources.dial_queue_url),
        ("SECRETS_ARN", &resources.secret_arn),
        ("SERVICENOW_INSTANCE_URL", servicenow_url),
        ("TWILIO_STUDIO_BASE_URL", studio_url),
        ("TWILIO_API_BASE_URL", studio_url),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// A directory removed on drop, unless kept.
pub struct TempDir {
    pub path: std::path::PathBuf,
    pub keep: bool,
}

impl TempDir {
    /// `escalation-NAME` in the system's temporary directory, created.
    pub fn create(name: &str) -> Result<TempDir, String> {
        let path = std::env::temp_dir().join(format!("escalation-{name}"));
        std::fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(TempDir { path, keep: false })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}
