//! `escalation-admin doctor` (the binary) against an installation made of moto (the
//! incident-trigger function's configuration and the secret), the Twilio and ServiceNow
//! fakes, and a trigger that checks signatures with the trigger's own code. A healthy
//! installation passes every check; then each check fails once, says why and how to fix it,
//! and the exit status is 1. No secret value is ever printed.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

#[path = "support/install.rs"]
mod install;
use install::{Install, Rig, SN_CLIENT_ID, SN_CLIENT_SECRET, unique};

/// The line of check `name` (and its fix line, if any).
fn line(out: &str, name: &str) -> String {
    let lines: Vec<&str> = out.lines().collect();
    let i = lines
        .iter()
        .position(|l| {
            let rest: String = l.chars().skip(2).collect();
            rest.starts_with(&format!("{name} "))
        })
        .unwrap_or_else(|| panic!("no line for {name}:\n{out}"));
    let mut text = lines[i].to_owned();
    if let Some(fix) = lines
        .get(i + 1)
        .filter(|l| l.trim_start().starts_with("fix:"))
    {
        text.push('\n');
        text.push_str(fix);
    }
    text
}

/// Exactly `name` fails; every line before it passed.
async fn fails_alone(i: Install, name: &str, says: &[&str]) {
    let rig = Rig::install(i).await;
    let (code, out) = rig.doctor().await;
    assert_eq!(code, 1, "{out}");
    let l = line(&out, name);
    assert!(l.starts_with('✗'), "{name} should fail:\n{out}");
    assert!(l.contains("fix:"), "{name} names a fix:\n{out}");
    for s in says {
        assert!(l.contains(s), "{name} should say {s:?}:\n{out}");
    }
    assert_eq!(out.matches('✗').count(), 1, "only {name} fails:\n{out}");
    assert!(out.contains("doctor: 1 of 9 checks failed"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_healthy_installation_passes_every_check() {
    let rig = Rig::install(Install::default()).await;
    let (code, out) = rig.doctor().await;
    println!("{out}"); // what an operator sees (cargo test -- --nocapture)
    assert_eq!(code, 0, "{out}");
    for name in escalation_admin::doctor::CHECKS {
        assert!(line(&out, name).starts_with('✓'), "{name}:\n{out}");
    }
    assert!(line(&out, "studio flow").contains("published"), "{out}");
    assert!(
        line(&out, "event streams").contains("com.twilio.studio.flow.execution.ended"),
        "{out}"
    );
    assert!(out.contains("doctor: all 9 checks passed"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_function_stops_the_doctor_with_how_to_find_it() {
    let mut rig = Rig::install(Install::default()).await;
    rig.function = unique("no-such-function");
    let (code, out) = rig.doctor().await;
    assert_eq!(code, 1, "{out}");
    let l = line(&out, "configuration");
    assert!(l.starts_with('✗') && l.contains(&rig.function), "{out}");
    assert!(l.contains("IncidentTriggerFunction"), "{out}");
    assert!(
        line(&out, "twilio").starts_with('·'),
        "the rest is skipped:\n{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn placeholders_in_the_secret_are_named_never_shown() {
    let mut i = Install::default();
    i.secret["servicenow_password"] = json!("FILL_ME");
    i.secret["twilio_auth_token"] = json!("<the account's primary Auth Token>");
    let rig = Rig::install(i).await;
    let (code, out) = rig.doctor().await;
    assert_eq!(code, 1, "{out}");
    let l = line(&out, "secret");
    assert!(l.starts_with('✗'), "{out}");
    assert!(
        l.contains("servicenow_password") && l.contains("twilio_auth_token"),
        "{out}"
    );
    assert!(l.contains("put-secret-value"), "{out}");
    assert!(line(&out, "servicenow").starts_with('·'), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_hmac_key_that_is_not_base64_or_too_short_fails() {
    let mut i = Install::default();
    i.secret["trigger_hmac_key"] = json!("not base64 at all!");
    fails_alone_except_ping(i, "not valid base64").await;
    let mut i = Install::default();
    i.secret["trigger_hmac_key"] = json!(STANDARD.encode([1u8; 8]));
    fails_alone_except_ping(i, "8 bytes").await;
}

/// Without a usable key the ping is skipped, so the key check is the only failure.
async fn fails_alone_except_ping(i: Install, says: &str) {
    let rig = Rig::install(i).await;
    let (code, out) = rig.doctor().await;
    assert_eq!(code, 1, "{out}");
    let l = line(&out, "hmac key");
    assert!(
        l.starts_with('✗') && l.contains(says) && l.contains("openssl rand -base64 32"),
        "{out}"
    );
    assert!(line(&out, "trigger ping").starts_with('·'), "{out}");
    assert_eq!(out.matches('✗').count(), 1, "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_twilio_key_is_an_authentication_failure_with_a_hint() {
    let mut i = Install::default();
    i.secret["twilio_api_key_secret"] = json!("an-expired-secret");
    let rig = Rig::install(i).await;
    let (code, out) = rig.doctor().await;
    assert_eq!(code, 1, "{out}");
    let l = line(&out, "twilio");
    assert!(
        l.contains("20003: authentication failed — check twilio_api_key_sid/secret in the secret"),
        "{out}"
    );
    assert!(line(&out, "studio flow").starts_with('·'), "{out}");
    assert!(!out.contains("an-expired-secret"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flow_sid_that_is_not_a_flow_of_the_account_fails() {
    let i = Install {
        flow_sid: Some("FW00000000000000000000000000000000".into()),
        ..Install::default()
    };
    fails_alone(
        i,
        "studio flow",
        &[
            "FW00000000000000000000000000000000",
            "is not a flow of account",
            "TwilioFlowSid",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sink_that_is_not_active_fails() {
    let i = Install {
        sink_status: Some("failed"),
        ..Install::default()
    };
    fails_alone(
        i,
        "event streams",
        &["is failed, not active", "--stream-arn"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn servicenow_refusing_the_integration_user_fails() {
    let mut i = Install::default();
    i.secret["servicenow_password"] = json!("an-old-password");
    fails_alone(
        i,
        "servicenow",
        &[
            "cannot read incident: HTTP 401",
            "servicenow_username/servicenow_password",
        ],
    )
    .await;
}

/// The secret signs in to ServiceNow with the OAuth client instead of a password.
fn oauth_install(client_secret: &str) -> Install {
    let mut i = Install {
        oauth: true,
        ..Install::default()
    };
    let secret = i.secret.as_object_mut().expect("an object");
    secret.remove("servicenow_username");
    secret.remove("servicenow_password");
    secret.insert("servicenow_client_id".into(), json!(SN_CLIENT_ID));
    secret.insert("servicenow_client_secret".into(), json!(client_secret));
    i
}

#[tokio::test(flavor = "multi_thread")]
async fn servicenow_signs_in_with_the_oauth_client_as_the_functions_do() {
    let rig = Rig::install(oauth_install(SN_CLIENT_SECRET)).await;
    let (code, out) = rig.doctor().await;
    assert_eq!(code, 0, "{out}");
    let l = line(&out, "servicenow");
    assert!(
        l.starts_with('✓') && l.contains("with an OAuth token"),
        "{out}"
    );
    assert!(
        line(&out, "secret").starts_with('✓'),
        "no password needed:\n{out}"
    );
    assert_eq!(rig.sn.tokens_issued(), 1);
    let reads: Vec<_> = rig
        .sn
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/now/"))
        .collect();
    assert_eq!(reads.len(), 2, "incident and sys_user: {reads:#?}");
    assert!(
        reads.iter().all(|r| r
            .header("authorization")
            .is_some_and(|a| a.starts_with("Bearer "))),
        "{reads:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_oauth_client_fails_naming_the_fields() {
    fails_alone(
        oauth_install("an-old-client-secret"),
        "servicenow",
        &[
            "refused the OAuth client (HTTP 401 access_denied)",
            "servicenow_client_id and servicenow_client_secret",
            "Application Registry",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sample_roster_fails() {
    let i = Install {
        roster: std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../assets/agent_list.json"
        ))
        .expect("the bundled roster"),
        ..Install::default()
    };
    fails_alone(
        i,
        "policy file",
        &[
            "sample people",
            "Alice Example +1******0001",
            "on-call people",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trigger_holding_another_key_refuses_the_ping() {
    let i = Install {
        trigger_key: STANDARD.encode([7u8; 32]),
        ..Install::default()
    };
    fails_alone(
        i,
        "trigger ping",
        &[
            "refused the signature: signature does not match",
            "update-function-configuration",
        ],
    )
    .await;
}
