//! The doctor's HTTP probes: ServiceNow reads with the functions' client and credentials,
//! and the signed ping to the trigger.

use serde_json::{Value, json};

use super::{Report, http};
use escalation_adapters::retry::RetryPolicy;
use escalation_adapters::secrets::{SecretError, Secrets};
use escalation_adapters::servicenow::{Credentials, SnClient, SnError};
use escalation_adapters::signing::SigningKey;

/// The functions' ServiceNow client, signed in as the secret says (Basic auth, or a token
/// from the OAuth client), reads `incident` and `sys_user`.
pub(super) async fn servicenow(r: &mut Report, base: &str, secrets: Result<Secrets, SecretError>) {
    let credentials = match secrets.and_then(|s| Credentials::from_secrets(&s)) {
        Ok(c) => c,
        Err(e) => {
            return r.fail(
                "servicenow",
                e.problem,
                "fill in servicenow_username/servicenow_password, or both \
                 servicenow_client_id and servicenow_client_secret (docs/DEPLOY.md)",
            );
        }
    };
    let client = SnClient::new(http(), base, credentials, RetryPolicy::none());
    let (who, fields) = (client.credentials().who(), client.credentials().fields());
    for table in ["incident", "sys_user"] {
        let Err(e) = client.read_probe(table).await else {
            continue;
        };
        let cannot = |status: u16, said: &str| {
            let said = if said.is_empty() {
                String::new()
            } else {
                format!(" ({said})")
            };
            format!("{who} cannot read {table}: HTTP {status}{said}")
        };
        let (detail, fix) = match e {
            SnError::Transport(e) => (
                format!("no answer from {base}: {e}"),
                "check SERVICENOW_INSTANCE_URL (the stack parameter ServiceNowInstanceUrl)".into(),
            ),
            SnError::Decode { .. } => (
                format!("{base} answered with a web page, not JSON"),
                "wake the instance (a hibernating developer instance answers like this)".into(),
            ),
            SnError::Api {
                status, message, ..
            } => (
                cannot(status, &message),
                match status {
                    401 => format!("check {fields} in the secret"),
                    403 => format!(
                        "give {who} the role x_escalation.integration (infra/servicenow/README.md)"
                    ),
                    _ => "see the instance's answer".into(),
                },
            ),
            SnError::RateLimited { .. } => (
                cannot(429, "rate limited"),
                "run the doctor again in a minute".into(),
            ),
            e @ SnError::OAuthRejected { .. } => (
                e.to_string(),
                "the OAuth client needs an entry in System OAuth > Application Registry and the \
                 property glide.oauth.inbound.client.credential.grant_type.enabled = true \
                 (docs/DEPLOY.md)"
                    .into(),
            ),
            SnError::OAuthUnavailable(d) => (
                format!("no OAuth token from {base}: {d}"),
                "see the instance's answer (System Logs) and run the doctor again".into(),
            ),
        };
        return r.fail("servicenow", detail, fix);
    }
    let how = match client.credentials() {
        Credentials::OAuth { .. } => " with an OAuth token",
        Credentials::Basic { .. } => "",
    };
    r.pass(
        "servicenow",
        format!("{who} reads incident and sys_user on {base}{how}"),
    );
}

/// A signed heartbeat, the request ServiceNow's scheduled job sends: the trigger checks its
/// signature, counts it and starts nothing.
pub(super) async fn ping(r: &mut Report, url: &str, key: &SigningKey, function: &str) {
    let body = json!({"type": "heartbeat", "event_id": format!("doctor-{:x}", std::process::id())})
        .to_string();
    let timestamp = (escalation_adapters::clock::now_ms() / 1000).to_string();
    let resp = http()
        .post(url)
        .header("Content-Type", "application/json")
        .header("X-Signature-Timestamp", &timestamp)
        .header("X-Signature", key.sign(&timestamp, body.as_bytes()))
        .body(body)
        .send()
        .await;
    let resp = match resp {
        Ok(resp) => resp,
        Err(e) => {
            return r.fail(
                "trigger ping",
                format!("no answer from {url}: {e}"),
                "check the function URL (stack output TriggerUrl)",
            );
        }
    };
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    let error = body["error"].as_str().unwrap_or_default().to_owned();
    match status {
        200 if body["heartbeat"] == "ok" => {
            r.pass("trigger ping", format!("{url} accepted a signed heartbeat"))
        }
        401 => r.fail(
            "trigger ping",
            format!("{url} refused the signature: {error}"),
            format!(
                "the functions hold another trigger_hmac_key: after changing the secret run \
                 `aws lambda update-function-configuration --function-name {function} \
                 --description \"secret rotated\"` (and the other functions); if the error is \
                 about the window, this machine's clock is off"
            ),
        ),
        503 => r.fail(
            "trigger ping",
            format!("{url} answered 503: {error}"),
            format!("read the function's logs: aws logs tail /aws/lambda/… ({function})"),
        ),
        _ => r.fail(
            "trigger ping",
            format!("{url} answered HTTP {status}: {body}"),
            "is this the incident-trigger's function URL?",
        ),
    }
}
