//! Runs the ServiceNow scripts of infra/servicenow/ under node with stand-ins for the Glide
//! APIs (business_rule_harness.js), for the tests that check what they send.

#![allow(dead_code)] // each test file uses what it needs

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

#[path = "repo.rs"]
mod repo;
pub use repo::repo;

pub const TRIGGER_URL: &str = "https://abc123.lambda-url.eu-west-1.on.aws/";
/// The Script Include every script signs and sends with (global on the instance).
pub const SCRIPT_INCLUDE: &str = "infra/servicenow/phone_escalation_post.js";

pub fn key_b64() -> String {
    // 32 key bytes, stored base64 in both places (SN property and trigger_hmac_key).
    STANDARD.encode(
        (0u8..32)
            .map(|i| i.wrapping_mul(37).wrapping_add(11))
            .collect::<Vec<u8>>(),
    )
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Runs one ServiceNow script once; returns the harness's report.
pub fn run(script: &str, config: &Value) -> Value {
    let output = Command::new("node")
        .arg(repo("tools/admin/tests/support/business_rule_harness.js"))
        .arg(repo(script))
        .arg(config.to_string())
        .arg(repo(SCRIPT_INCLUDE))
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "could not run `node` ({e}). This test runs the ServiceNow scripts of \
                 infra/servicenow/ under Node.js: install Node.js (e.g. `apt-get install \
                 nodejs`) and make sure `node` is on PATH"
            )
        });
    assert!(
        output.status.success(),
        "{script} failed under node:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the harness prints JSON")
}
