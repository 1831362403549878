//! `call-decision`: the HTTPS endpoint (Lambda function URL) the Studio flow's HTTP Request
//! widget calls when the person presses 1 (accept) or 2 (pass, after the reason): the key
//! is applied at once through the engine's live decision (first accept wins; the
//! flow-end event later is a duplicate) and the answer is the sentence the flow reads
//! aloud (`{"say": "...", "outcome": "assigned"}`).
//!
//! Authentication: the attempt's capability token from the execution's Parameters
//! (`token`), checked before anything is read or written; a wrong one is 401 and changes
//! nothing. Any failure here (401, 400, 503, a timeout) sends the flow down its fallback:
//! the key is read from the execution's context when the call ends.

use super::function_url::{self, Reject, respond};
use escalation_adapters::capability::DecisionKey;
use escalation_core::model::{DeclineReason, EscalationId, ExecutionSid, SysId};
use escalation_core::usecase::{Choice, Engine, LiveDecision, Verdict};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use std::collections::HashMap;

/// Bodies above this are refused before anything else is read.
pub const MAX_BODY_BYTES: usize = 4 * 1024;

/// The decision function: the engine (its next calls go to the dial queue) and the key
/// of the tokens.
#[derive(Clone)]
pub struct CallDecision {
    pub engine: Engine,
    pub key: DecisionKey,
}

fn error(status: StatusCode, message: impl Into<String>) -> Response<Body> {
    let reject = Reject::new(status, message);
    warn(&reject);
    reject.response()
}

fn warn(r: &Reject) {
    tracing::warn!(status = r.status.as_u16(), reason = %r.message, "decision rejected");
}

/// The fields of a request (a form, what the flow's widget sends, or a JSON object), as
/// text.
fn fields(content_type: &str, body: &[u8]) -> Result<HashMap<String, String>, String> {
    let (_, map) = function_url::decode(content_type, body)?;
    Ok(map
        .into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect())
}

/// A request, checked: the decision it asks for, and its token.
#[derive(Debug)]
struct Asked {
    decision: LiveDecision,
    token: String,
}

fn parse(f: &HashMap<String, String>) -> Result<Asked, String> {
    let get = |name: &str| f.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let need = |name: &str| get(name).ok_or_else(|| format!("field `{name}` is required"));
    let token = need("token")?.to_owned();
    let escalation_id = need("escalation_id")?;
    if escalation_id.len() > 64 {
        return Err("field `escalation_id` is longer than 64 characters".into());
    }
    let incident = SysId::parse(need("sys_id")?).map_err(|_| {
        "field `sys_id` must be a 32-character hexadecimal ServiceNow sys_id".to_string()
    })?;
    let attempt = need("attempt")?
        .parse::<u32>()
        .ok()
        .filter(|a| *a >= 1)
        .ok_or("field `attempt` must be a whole number from 1")?;
    let execution = ExecutionSid::parse(need("execution_sid")?)
        .map_err(|_| "field `execution_sid` must be an execution SID (FN + 32 hex)".to_string())?;
    let choice = match need("digit")? {
        "1" => Choice::Accept,
        "2" => Choice::Pass(get("reason").and_then(DeclineReason::from_key)),
        other => {
            return Err(format!(
                "field `digit` must be 1 (accept) or 2 (pass), not {:?}",
                other.chars().take(8).collect::<String>()
            ));
        }
    };
    Ok(Asked {
        decision: LiveDecision {
            incident,
            escalation_id: EscalationId::new(escalation_id),
            attempt,
            execution: Some(execution),
            choice,
        },
        token,
    })
}

fn outcome_name(v: &Verdict) -> &'static str {
    match v {
        Verdict::Assigned => "assigned",
        Verdict::Passed => "passed",
        Verdict::AlreadyAccepted { .. } => "already_accepted",
        Verdict::NoLongerNeeded => "no_longer_needed",
        Verdict::OtherCall => "other_call",
    }
}

impl CallDecision {
    /// Handle one request. Never returns `Err`: every failure is an HTTP answer.
    pub async fn handle(&self, req: Request) -> Result<Response<Body>, lambda_http::Error> {
        let body = match function_url::post_body(&req, MAX_BODY_BYTES) {
            Ok(body) => body,
            Err(r) => {
                warn(&r);
                return Ok(r.response());
            }
        };
        let content_type = function_url::header(&req, "content-type").unwrap_or("");
        let asked = match fields(content_type, body).and_then(|f| parse(&f)) {
            Ok(a) => a,
            // A request without its token is refused as unauthenticated, not as malformed.
            Err(m) if m.contains("`token`") => return Ok(error(StatusCode::UNAUTHORIZED, m)),
            Err(m) => return Ok(error(StatusCode::BAD_REQUEST, m)),
        };
        let d = &asked.decision;
        if !self.key.verify(
            &asked.token,
            d.escalation_id.as_str(),
            d.incident.as_str(),
            d.attempt,
        ) {
            return Ok(error(
                StatusCode::UNAUTHORIZED,
                "token is not valid for this escalation and attempt",
            ));
        }
        match self.engine.on_live_decision(d).await {
            Ok(Some(reply)) if reply.verdict == Verdict::OtherCall => Ok(error(
                StatusCode::UNAUTHORIZED,
                "execution_sid is not the call of this attempt",
            )),
            Ok(Some(reply)) => {
                tracing::info!(escalation_id = %d.escalation_id, attempt = d.attempt,
                    outcome = outcome_name(&reply.verdict), "decision answered");
                let mut body = json!({
                    "say": reply.say,
                    "outcome": outcome_name(&reply.verdict),
                });
                if let Verdict::AlreadyAccepted { by } = &reply.verdict {
                    body["accepted_by"] = json!(by);
                }
                Ok(respond(StatusCode::OK, body))
            }
            Ok(None) => Ok(error(
                StatusCode::NOT_FOUND,
                "no such escalation for this incident",
            )),
            Err(e) => {
                tracing::error!(escalation_id = %d.escalation_id, attempt = d.attempt, error = %e,
                    "could not apply the decision; the end of the call will");
                Ok(respond(
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({ "error": "the decision could not be applied now (storage or queue unavailable); it is applied when the call ends" }),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const GOOD: &[(&str, &str)] = &[
        ("token", "t"),
        ("escalation_id", "e1"),
        ("sys_id", "ef43c6d40a0a0b5700c77f9bf387afe3"),
        ("attempt", "2"),
        ("execution_sid", "FN0123456789abcdef0123456789abcdef"),
        ("digit", "2"),
        ("reason", "1"),
    ];

    #[test]
    fn a_good_request_names_its_decision() {
        let a = parse(&form(GOOD)).unwrap();
        assert_eq!(a.decision.attempt, 2);
        assert_eq!(
            a.decision.choice,
            Choice::Pass(Some(DeclineReason::Driving))
        );
    }

    #[test]
    fn each_bad_field_is_named() {
        for (field, value, says) in [
            ("sys_id", "nope", "`sys_id`"),
            ("attempt", "0", "`attempt`"),
            ("attempt", "two", "`attempt`"),
            ("execution_sid", "CA1", "`execution_sid`"),
            ("digit", "3", "`digit` must be 1 (accept) or 2 (pass)"),
            ("escalation_id", "", "`escalation_id` is required"),
        ] {
            let mut f = form(GOOD);
            f.insert(field.into(), value.into());
            let err = parse(&f).unwrap_err();
            assert!(err.contains(says), "{field}={value}: {err}");
        }
    }

    #[test]
    fn json_bodies_are_read_too() {
        let f = fields(
            "application/json",
            br#"{"token":"t","attempt":2,"digit":"1"}"#,
        )
        .unwrap();
        assert_eq!(f["attempt"], "2");
        assert!(fields("application/json", b"[1]").is_err());
    }
}
