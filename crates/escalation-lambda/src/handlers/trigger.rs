//! `incident-trigger`: the HTTPS endpoint (Lambda function URL) the ServiceNow business
//! rule calls. Verifies the HMAC signature, refuses replays, validates the incident, starts
//! the escalation: stored, its "started" note and its first call queued, then answered
//! (the call is placed by escalation-dialer, so the answer never waits for the call rate);
//! 422 when no policy has anyone to call (a work note says so).
//! For the rule "Cancel phone escalation" it cancels one instead (`{"type": "cancel"}`: the
//! incident was assigned, resolved, closed, canceled or lowered by someone else).

pub use super::function_url::Reject;
use super::function_url::{self, Encoding, respond};
use escalation_adapters::signing::{MAX_SKEW_SECS, SIGNATURE_HEADER, SigningKey, TIMESTAMP_HEADER};
use escalation_core::escalation::{Cancel, CancelReason, Status};
use escalation_core::model::{Incident, SysId};
use escalation_core::ports::{Clock, Metric, Metrics, Stored};
use escalation_core::usecase::{CancelResult, Engine, EngineError, Replay, ReplayGuard};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use std::sync::Arc;

/// Bodies above this are refused before anything else is read.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Used signatures are remembered longer than the ±300 s skew window.
pub const REPLAY_MARK_TTL_SECS: u64 = 2 * MAX_SKEW_SECS as u64 + 60;

/// The trigger function: what it needs and nothing more.
#[derive(Clone)]
pub struct Trigger {
    pub engine: Engine,
    pub key: SigningKey,
    pub replay: ReplayGuard,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn Metrics>,
}

/// What a signed request asks for.
#[derive(Debug)]
pub enum Ask {
    /// Escalate this incident.
    Escalate(Incident),
    /// Stop the escalation of this incident: it was handled in ServiceNow.
    Cancel(SysId, Cancel),
    /// ServiceNow's scheduled job proving that its outbound path works (`{"type":
    /// "heartbeat"}`): counted, nothing started.
    Heartbeat,
}

/// Whether a (verified) body is a heartbeat.
pub fn is_heartbeat(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .is_some_and(|v| v.get("type").and_then(Value::as_str) == Some("heartbeat"))
}

/// Whether a (verified) body is the cancel rule's.
pub fn is_cancel(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .is_some_and(|v| v.get("type").and_then(Value::as_str) == Some("cancel"))
}

/// `{"type":"cancel","sys_id","number","reason","detail"?,"by"?,"event_id"}`; `reason` is
/// assigned, resolved, closed, canceled or priority_lowered; `detail` the assignee's name
/// or the new priority; `by` who changed the incident.
pub fn parse_cancel(body: &[u8], now_ms: u64) -> Result<(SysId, Cancel), String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("body is not valid JSON: {e}"))?;
    let text = |name: &str| -> Result<Option<String>, String> {
        match v.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.chars().count() <= 100 => {
                Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty()))
            }
            Some(Value::String(_)) => Err(format!("field `{name}` is longer than 100 characters")),
            Some(_) => Err(format!("field `{name}` must be a string")),
        }
    };
    let sys_id = SysId::parse(&text("sys_id")?.unwrap_or_default()).map_err(|_| {
        "field `sys_id` must be a 32-character hexadecimal ServiceNow sys_id".to_string()
    })?;
    let reason = text("reason")?.unwrap_or_default();
    let reason = CancelReason::parse(&reason).ok_or_else(|| {
        format!("field `reason` must be assigned, resolved, closed, canceled or priority_lowered, not {reason:?}")
    })?;
    Ok((
        sys_id,
        Cancel {
            reason,
            detail: text("detail")?,
            by: text("by")?,
            at: now_ms,
        },
    ))
}

impl Trigger {
    /// Handle one request. Never returns `Err`: every failure is an HTTP answer.
    pub async fn handle(&self, req: Request) -> Result<Response<Body>, lambda_http::Error> {
        let now_secs = (self.clock.now_ms() / 1000) as i64;
        let rejected = |r: Reject| {
            tracing::warn!(status = r.status.as_u16(), reason = %r.message, "trigger rejected");
            Ok(r.response())
        };
        let ask = match self.check(&req, now_secs) {
            Ok(ask) => ask,
            Err(r) => return rejected(r),
        };
        let signature = function_url::header(&req, SIGNATURE_HEADER).unwrap_or_default();
        let incident = match ask {
            Ask::Escalate(incident) => incident,
            other => {
                if let Err(r) = self.admit(signature).await {
                    return rejected(r);
                }
                return Ok(match other {
                    Ask::Cancel(sys_id, cancel) => self.cancel(&sys_id, cancel).await,
                    _ => {
                        tracing::info!("heartbeat from ServiceNow");
                        self.metrics
                            .count("incident-trigger", Metric::Heartbeats, 1);
                        respond(StatusCode::OK, json!({ "heartbeat": "ok" }))
                    }
                });
            }
        };
        // The replay mark and the lineup read at the same time: the read has no effect, and
        // nothing is written (no escalation, no note) before the mark is in.
        let (admitted, lineup) = tokio::join!(self.admit(signature), self.engine.lineup(&incident));
        if let Err(r) = admitted {
            return rejected(r);
        }
        let number = incident.number.clone();
        match self.engine.start_with(incident, lineup).await {
            Ok((stored, new)) => {
                let status = if new {
                    StatusCode::ACCEPTED
                } else {
                    StatusCode::OK
                };
                Ok(respond(status, summary(&stored)))
            }
            Err(EngineError::NobodyToCall(why)) => Ok(respond(
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({
                    "error": format!("nobody to call for {number}: {why}; configure an escalation policy for the group or a default one (escalation-admin policy import); a work note says so on the incident"),
                }),
            )),
            Err(e) => {
                tracing::error!(incident = %number, error = %e, "could not start the escalation");
                let message = match e {
                    EngineError::Telephony(_) => {
                        "escalation recorded but the first call could not be placed yet (Twilio unavailable); send the request again to retry"
                    }
                    _ => {
                        "escalation could not be started (storage or queue unavailable); send the request again"
                    }
                };
                Ok(respond(
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({ "error": message }),
                ))
            }
        }
    }

    async fn cancel(&self, sys_id: &SysId, cancel: Cancel) -> Response<Body> {
        match self.engine.cancel(sys_id, cancel).await {
            Ok(CancelResult::Cancelled { stored, hung_up }) => {
                let mut body = summary(&stored);
                body["hung_up"] = json!(hung_up);
                respond(StatusCode::OK, body)
            }
            Ok(CancelResult::AlreadyFinished(stored)) => respond(StatusCode::OK, summary(&stored)),
            Ok(CancelResult::NoEscalation) => respond(
                StatusCode::OK,
                json!({ "status": null, "message": "no escalation for this incident; nothing to cancel" }),
            ),
            Err(e) => {
                tracing::error!(incident = %sys_id, error = %e, "could not cancel the escalation");
                respond(
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({ "error": "escalation could not be cancelled (storage or queue unavailable); send the request again" }),
                )
            }
        }
    }

    /// Method, size, signature, then the body: the order matters (no parsing before auth).
    /// The replay mark ([`Trigger::admit`]) comes after, before anything is done.
    pub fn check(&self, req: &Request, now_secs: i64) -> Result<Ask, Reject> {
        let body = function_url::post_body(req, MAX_BODY_BYTES)?;
        let header = |name: &str| function_url::header(req, name);
        self.key
            .verify(
                header(TIMESTAMP_HEADER),
                header(SIGNATURE_HEADER),
                body,
                now_secs,
            )
            .map_err(|e| Reject::new(StatusCode::UNAUTHORIZED, e.to_string()))?;
        if is_heartbeat(body) {
            return Ok(Ask::Heartbeat);
        }
        if is_cancel(body) {
            let (sys_id, cancel) = parse_cancel(body, now_secs as u64 * 1000)
                .map_err(|m| Reject::new(StatusCode::BAD_REQUEST, m))?;
            return Ok(Ask::Cancel(sys_id, cancel));
        }
        let content_type = header("content-type").unwrap_or("");
        let incident =
            parse_body(content_type, body).map_err(|m| Reject::new(StatusCode::BAD_REQUEST, m))?;
        if !self.engine.escalates(&incident.priority) {
            return Err(Reject::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "priority {} does not escalate (escalating priorities: {})",
                    incident.priority,
                    self.engine.settings().priorities.join(", ")
                ),
            ));
        }
        Ok(Ask::Escalate(incident))
    }

    /// Refuse a signature that was used before (and remember this one).
    pub async fn admit(&self, signature: &str) -> Result<(), Reject> {
        match self.replay.admit(signature).await {
            Ok(()) => Ok(()),
            Err(e @ Replay::Replayed) => Err(Reject::new(StatusCode::UNAUTHORIZED, e.to_string())),
            Err(e @ Replay::Unavailable(_)) => {
                tracing::error!(error = ?e, "replay check unavailable");
                Err(Reject::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))
            }
        }
    }
}

/// What the business rule gets back (no phone numbers).
pub fn summary(stored: &Stored) -> Value {
    let esc = &stored.escalation;
    json!({
        "escalation_id": esc.id(),
        "incident_number": esc.incident().number,
        "status": esc.status(),
        "attempt": esc.latest_attempt(),
        "calling": esc.current().map(|a| a.person.name.clone()),
        "accepted_by": if esc.status() == Status::Accepted { esc.accepted_by() } else { None },
    })
}

/// JSON `{"sys_id","number","short_description","priority","assignment_group"?}`, or the
/// original demo's form body `sys_id`, `ticket_no`, `short_description` (priority 1).
pub fn parse_body(content_type: &str, body: &[u8]) -> Result<Incident, String> {
    let (encoding, mut fields) = function_url::decode(content_type, body)?;
    if encoding == Encoding::Form {
        if let Some(number) = fields.remove("ticket_no") {
            fields.entry("number").or_insert(number);
        }
        fields
            .entry("priority")
            .or_insert(Value::String("1".into()));
    }

    let string = |name: &str, required: bool| -> Result<Option<String>, String> {
        match fields.get(name) {
            None | Some(Value::Null) if required => Err(format!("field `{name}` is required")),
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(format!("field `{name}` must be a string")),
        }
    };
    let sys_id = SysId::parse(&string("sys_id", true)?.unwrap_or_default()).map_err(|_| {
        "field `sys_id` must be a 32-character hexadecimal ServiceNow sys_id".to_string()
    })?;
    let number = string("number", true)?.unwrap_or_default();
    if number.is_empty()
        || number.len() > 40
        || !number
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err("field `number` must be an incident number like INC0010001 (letters, digits, - or _, at most 40)".into());
    }
    let short_description = string("short_description", true)?.unwrap_or_default();
    if short_description.chars().count() > 1000 {
        return Err("field `short_description` is longer than 1000 characters".into());
    }
    let priority = string("priority", true)?.unwrap_or_default();
    if !matches!(priority.as_str(), "1" | "2" | "3" | "4" | "5") {
        return Err("field `priority` must be 1 to 5".into());
    }
    let assignment_group = string("assignment_group", false)?.filter(|g| !g.is_empty());
    if assignment_group.as_ref().is_some_and(|g| g.len() > 100) {
        return Err("field `assignment_group` is longer than 100 characters".into());
    }
    let assignment_group_name = string("assignment_group_name", false)?.filter(|g| !g.is_empty());
    if assignment_group_name
        .as_ref()
        .is_some_and(|g| g.chars().count() > 100)
    {
        return Err("field `assignment_group_name` is longer than 100 characters".into());
    }
    Ok(Incident {
        sys_id,
        number,
        short_description,
        priority,
        assignment_group,
        assignment_group_name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYS: &str = "ef43c6d40a0a0b5700c77f9bf387afe3";

    #[test]
    fn json_body() {
        let body = format!(
            r#"{{"sys_id":"{SYS}","number":"INC0010001","short_description":"DB down","priority":1,"assignment_group":"db-team","event_id":"x"}}"#
        );
        let i = parse_body("application/json", body.as_bytes()).unwrap();
        assert_eq!(i.number, "INC0010001");
        assert_eq!(i.priority, "1");
        assert_eq!(i.assignment_group.as_deref(), Some("db-team"));
    }

    #[test]
    fn a_cancel_names_what_happened_and_a_bad_one_names_the_field() {
        let body = format!(
            r#"{{"type":"cancel","sys_id":"{SYS}","number":"INC1","reason":"assigned","detail":"Bob Agent","by":"Beth Anglin","event_id":"e"}}"#
        );
        assert!(is_cancel(body.as_bytes()));
        let (sys_id, c) = parse_cancel(body.as_bytes(), 7).unwrap();
        assert_eq!(sys_id.as_str(), SYS);
        assert_eq!(c.reason, CancelReason::Assigned);
        assert_eq!(c.detail.as_deref(), Some("Bob Agent"));
        assert_eq!((c.by.as_deref(), c.at), (Some("Beth Anglin"), 7));
        let bad = |b: String, expect: &str| {
            let err = parse_cancel(b.as_bytes(), 0).unwrap_err();
            assert!(err.contains(expect), "{b}: {err}");
        };
        bad(
            format!(r#"{{"type":"cancel","sys_id":"{SYS}","reason":"bored"}}"#),
            "field `reason` must be",
        );
        bad(
            r#"{"type":"cancel","sys_id":"x","reason":"closed"}"#.into(),
            "field `sys_id`",
        );
        bad(
            format!(r#"{{"type":"cancel","sys_id":"{SYS}","reason":"closed","by":7}}"#),
            "field `by` must be a string",
        );
    }

    #[test]
    fn demo_form_body() {
        let body = format!("short_description=Email+is+down&ticket_no=INC0010002&sys_id={SYS}");
        let i = parse_body("application/x-www-form-urlencoded", body.as_bytes()).unwrap();
        assert_eq!(i.number, "INC0010002");
        assert_eq!(i.short_description, "Email is down");
        assert_eq!(i.priority, "1");
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (
                r#"{"number":"INC1","short_description":"x","priority":"1"}"#.to_string(),
                "`sys_id` is required",
            ),
            (
                r#"{"sys_id":"nothex","number":"INC1","short_description":"x","priority":"1"}"#
                    .to_string(),
                "`sys_id` must be",
            ),
            (
                format!(r#"{{"sys_id":"{SYS}","short_description":"x","priority":"1"}}"#),
                "`number` is required",
            ),
            (
                format!(
                    r#"{{"sys_id":"{SYS}","number":"INC 1; drop","short_description":"x","priority":"1"}}"#
                ),
                "`number` must be",
            ),
            (
                format!(r#"{{"sys_id":"{SYS}","number":"INC1","priority":"1"}}"#),
                "`short_description` is required",
            ),
            (
                format!(
                    r#"{{"sys_id":"{SYS}","number":"INC1","short_description":"x","priority":"9"}}"#
                ),
                "`priority` must be 1 to 5",
            ),
            (
                format!(
                    r#"{{"sys_id":"{SYS}","number":"INC1","short_description":["x"],"priority":"1"}}"#
                ),
                "`short_description` must be a string",
            ),
            ("[1]".to_string(), "JSON object"),
            ("{not json".to_string(), "not valid JSON"),
        ];
        for (body, expect) in cases {
            let err = parse_body("application/json", body.as_bytes()).unwrap_err();
            assert!(err.contains(expect), "{body}: {err}");
        }
        assert!(
            parse_body("text/xml", b"<x/>")
                .unwrap_err()
                .contains("Content-Type")
        );
        assert!(
            parse_body("application/json", b"\xff")
                .unwrap_err()
                .contains("UTF-8")
        );
    }
}
