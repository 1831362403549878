//! The doctor's HTTP probes: ServiceNow reads as the integration user, and the signed ping
//! to the trigger.

use serde_json::{Value, json};

use super::{Report, http};
use escalation_adapters::signing::SigningKey;

/// The integration user reads `incident` and `sys_user`, as the functions do.
pub(super) async fn servicenow(r: &mut Report, base: &str, user: &str, password: &str) {
    let client = http();
    for table in ["incident", "sys_user"] {
        let url = format!("{base}/api/now/table/{table}?sysparm_limit=1&sysparm_fields=sys_id");
        let resp = match client
            .get(&url)
            .basic_auth(user, Some(password))
            .header("Accept", "application/json")
            .send()
            .await
        {
            Ok(resp) => resp,
            Err(e) => {
                return r.fail(
                    "servicenow",
                    format!("no answer from {base}: {e}"),
                    "check SERVICENOW_INSTANCE_URL (the stack parameter ServiceNowInstanceUrl)",
                );
            }
        };
        let status = resp.status().as_u16();
        let json = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json"));
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        let said = body
            .pointer("/error/message")
            .and_then(Value::as_str)
            .map(|m| format!(" ({m})"))
            .unwrap_or_default();
        let fix = match status {
            200 if json => continue,
            200 => {
                return r.fail(
                    "servicenow",
                    format!("{base} answered with a web page, not JSON"),
                    "wake the instance (a hibernating developer instance answers like this)",
                );
            }
            401 => "check servicenow_username/servicenow_password in the secret".to_owned(),
            403 => format!(
                "give {user} the role x_escalation.integration (infra/servicenow/README.md)"
            ),
            _ => "see the instance's answer".to_owned(),
        };
        return r.fail(
            "servicenow",
            format!("{user} cannot read {table}: HTTP {status}{said}"),
            fix,
        );
    }
    r.pass(
        "servicenow",
        format!("{user} reads incident and sys_user on {base}"),
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
