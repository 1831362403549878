//! The Twilio side the admin tests deploy onto: the Twilio fake with an API key, a client
//! for it, and the shipped flow with the Event Streams sink of a stack.

#![allow(dead_code)]

use std::path::PathBuf;

use escalation_admin::{Credentials, DeploySpec, SinkSpec, Twilio, flow};
use escalation_fakes::{TwilioFake, TwilioFakeConfig, TwilioHandle};
use serde_json::Value;

pub const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
pub const KEY_SID: &str = "SK0123456789abcdef0123456789abcdef";
pub const KEY_SECRET: &str = "twilio-key-secret-value";
pub const STREAM: &str = "arn:aws:kinesis:us-east-1:123456789012:stream/esc-FlowEventsStream";
pub const ROLE: &str = "arn:aws:iam::123456789012:role/esc-TwilioEventStreamsRole";
pub const EXTERNAL_ID: &str = "5f0c8a1e9b7d4c3a2f1e0d9c8b7a6f5e4d3c2b1a";
pub const NAME: &str = "ServiceNow phone escalation";

pub fn flow_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/twilio/escalation-flow.json")
}

pub fn shipped_flow() -> Value {
    flow::load(&flow_path()).expect("the shipped flow loads and keeps the contract")
}

/// The Twilio fake, accepting the API key `KEY_SID`/`KEY_SECRET`.
pub async fn fake() -> TwilioHandle {
    TwilioFake::start(TwilioFakeConfig {
        account_sid: ACCOUNT.into(),
        username: KEY_SID.into(),
        password: KEY_SECRET.into(),
        ..TwilioFakeConfig::default()
    })
    .await
}

/// A client of the fake signing in with `KEY_SID` and `password`.
pub fn client(tw: &TwilioHandle, password: &str) -> Twilio {
    let creds = Credentials {
        account_sid: ACCOUNT.into(),
        username: KEY_SID.into(),
        password: password.into(),
    };
    Twilio::new(creds, &tw.base_url(), &tw.base_url())
}

/// `definition` under the product's name, with the stack's Event Streams sink.
pub fn spec(definition: Value) -> DeploySpec {
    DeploySpec {
        definition,
        friendly_name: NAME.into(),
        commit_message: None,
        events: Some(SinkSpec {
            stream_arn: STREAM.into(),
            role_arn: ROLE.into(),
            external_id: EXTERNAL_ID.into(),
            description: None,
        }),
    }
}

/// A request made by hand (in the console, or with curl): `form` posted to `path` on the fake.
pub async fn post_by_hand(
    tw: &TwilioHandle,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}{path}", tw.base_url()))
        .basic_auth(KEY_SID, Some(KEY_SECRET))
        .form(form)
        .send()
        .await
        .expect("request")
}
