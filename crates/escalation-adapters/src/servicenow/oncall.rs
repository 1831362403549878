//! Who to call from ServiceNow On-Call Scheduling: the product's Scripted REST API
//! (infra/servicenow/oncall_plan_api.js) asked for a group's escalation plan at an instant,
//! within a time budget.
//!
//! `GET {instance}{path}?group={sys_id or name}&at={yyyy-MM-dd HH:mm:ss, UTC}` answers
//! (docs/POLICIES.md, "The On-Call API"):
//!
//! ```json
//! {"result": {"group": "Database", "group_sys_id": "…", "at": "2026-12-01 03:00:00",
//!   "has_schedule": true,
//!   "escalatees": [{"order": 1, "user_sys_id": "…", "name": "Ana Ortiz",
//!     "voice": "+14155550101", "time_to_next_step_secs": 900, "is_override": false}]}}
//! ```
//!
//! Every way it can fail is a [`LineupError::Unavailable`] with a reason fit for the work
//! note (timeout, refused, not installed, server error, not this JSON, an escalatee that
//! cannot be called); a group without an on-call schedule is [`LineupError::NoPolicy`].
//! HTTP statuses and ServiceNow's messages stop here.

use super::client::{SnClient, SnError};
use async_trait::async_trait;
use escalation_core::model::Incident;
use escalation_core::oncall::{self, Escalatee, Plan, PlanRejected, SOURCE};
use escalation_core::ports::{LineupError, LineupSource, Resolved};
use escalation_core::time::human_duration;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

/// Where the update set installs the API (`/api/{namespace}/{api_id}/{resource}`).
pub const DEFAULT_PATH: &str = "/api/x_escalation/phone_escalation/oncall";
/// The longest the trigger waits for On-Call before using the next source.
pub const MAX_BUDGET: Duration = Duration::from_secs(2);

pub struct OnCallSource {
    client: SnClient,
    path: String,
    budget: Duration,
}

impl OnCallSource {
    /// `path` starts with `/api/`; `budget` is capped at [`MAX_BUDGET`].
    pub fn new(client: SnClient, path: &str, budget: Duration) -> OnCallSource {
        OnCallSource {
            client,
            path: path.to_string(),
            budget: budget.min(MAX_BUDGET),
        }
    }
}

/// The plan as the API writes it; anything else is garbage.
#[derive(Deserialize)]
struct Wire {
    group: String,
    has_schedule: bool,
    escalatees: Vec<WireEscalatee>,
}

#[derive(Deserialize)]
struct WireEscalatee {
    order: u32,
    #[serde(default)]
    user_sys_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    voice: Option<String>,
    #[serde(default)]
    time_to_next_step_secs: Option<u64>,
    #[serde(default)]
    is_override: bool,
}

/// The plan in a 2xx answer's body, or why it is not one.
pub fn parse_plan(body: &Value) -> Result<Plan, String> {
    let result = body.get("result").cloned().unwrap_or(Value::Null);
    let wire: Wire = serde_json::from_value(result)
        .map_err(|e| format!("ServiceNow's answer is not an On-Call plan ({e})"))?;
    Ok(Plan {
        group: wire.group,
        has_schedule: wire.has_schedule,
        escalatees: wire
            .escalatees
            .into_iter()
            .map(|e| Escalatee {
                order: e.order,
                user_sys_id: e.user_sys_id.unwrap_or_default(),
                name: e.name.unwrap_or_default(),
                voice: e.voice.unwrap_or_default(),
                time_to_next_step_secs: e.time_to_next_step_secs,
                is_override: e.is_override,
            })
            .collect(),
    })
}

/// A failed request, said for the work note.
fn why(e: &SnError, path: &str) -> String {
    match e {
        SnError::Api {
            status: status @ (401 | 403),
            ..
        } => format!(
            "ServiceNow refused the integration user (HTTP {status}): give it the role x_escalation.integration"
        ),
        SnError::Api { status: 404, .. } => format!(
            "the On-Call API is not at {path} (import the update set, or set ServiceNowOnCallPath to the API's path)"
        ),
        SnError::Api { status, .. } if *status >= 500 => {
            format!("ServiceNow answered with a server error (HTTP {status})")
        }
        SnError::Api { status, .. } => format!("ServiceNow refused the request (HTTP {status})"),
        SnError::Decode { .. } => {
            "ServiceNow answered with something that is not JSON (an HTML page: is the instance asleep?)".into()
        }
        SnError::RateLimited { .. } => "ServiceNow rate-limited the request".into(),
        SnError::Transport(_) => "ServiceNow could not be reached".into(),
        SnError::OAuthRejected { .. } | SnError::OAuthUnavailable(_) => e.to_string(),
    }
}

/// When ServiceNow's `gdt` is: `yyyy-MM-dd HH:mm:ss` in UTC.
fn gdt(at_ms: u64) -> Result<String, LineupError> {
    let at = jiff::Timestamp::from_millisecond(at_ms as i64)
        .map_err(|e| LineupError::Unavailable(format!("instant {at_ms}: {e}")))?;
    Ok(at.strftime("%Y-%m-%d %H:%M:%S").to_string())
}

#[async_trait]
impl LineupSource for OnCallSource {
    fn name(&self) -> &str {
        SOURCE
    }

    async fn lineup_for(&self, incident: &Incident, at_ms: u64) -> Result<Resolved, LineupError> {
        let Some(group) = incident
            .assignment_group
            .as_deref()
            .or(incident.assignment_group_name.as_deref())
            .filter(|g| !g.trim().is_empty())
        else {
            return Err(LineupError::NoPolicy(format!(
                "{SOURCE}: the incident has no assignment group"
            )));
        };
        let at = gdt(at_ms)?;
        let params = [("group", group), ("at", at.as_str())];
        let answer = tokio::time::timeout(self.budget, self.client.get_once(&self.path, &params))
            .await
            .map_err(|_| {
                let ms = self.budget.as_millis() as u64;
                LineupError::Unavailable(if ms.is_multiple_of(1000) {
                    format!("timed out after {}", human_duration(ms))
                } else {
                    format!("timed out after {ms} ms")
                })
            })?
            .map_err(|e| {
                tracing::warn!(error = %e, "ServiceNow On-Call request failed");
                LineupError::Unavailable(why(&e, &self.path))
            })?;
        let plan = parse_plan(&answer).map_err(LineupError::Unavailable)?;
        match oncall::roster(&plan) {
            Ok(roster) => Ok(Resolved {
                roster,
                rounds: None,
                fallback_group: None,
            }),
            Err(e @ PlanRejected::NoSchedule(_)) => {
                Err(LineupError::NoPolicy(format!("{SOURCE}: {e}")))
            }
            Err(e) => Err(LineupError::Unavailable(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_plan_is_read_from_the_documented_json_and_garbage_is_refused() {
        let plan = parse_plan(&json!({"result": {
            "group": "Database", "group_sys_id": "d0000000000000000000000000000001",
            "at": "2026-12-01 03:00:00", "has_schedule": true,
            "escalatees": [{"order": 1, "user_sys_id": "a1000000000000000000000000000001",
                "name": "Ana Ortiz", "voice": "+14155550101", "time_to_next_step_secs": 900,
                "is_override": true, "rota": "Database primary"}]
        }}))
        .unwrap();
        assert_eq!(plan.escalatees[0].name, "Ana Ortiz");
        assert!(plan.escalatees[0].is_override);
        let err = parse_plan(&json!({"result": [{"userId": "x"}]})).unwrap_err();
        assert!(
            err.starts_with("ServiceNow's answer is not an On-Call plan"),
            "{err}"
        );
        assert!(parse_plan(&json!({"result": {"group": "Database"}})).is_err());
    }

    #[test]
    fn failures_are_said_without_vendor_detail() {
        let path = DEFAULT_PATH;
        let api = |status| SnError::Api {
            status,
            message: "User Not Authenticated".into(),
            detail: None,
        };
        assert!(why(&api(401), path).contains("refused the integration user (HTTP 401)"));
        assert!(why(&api(404), path).contains("import the update set"));
        assert_eq!(
            why(&api(503), path),
            "ServiceNow answered with a server error (HTTP 503)"
        );
        let html = SnError::Decode {
            status: 200,
            detail: "<html>".into(),
        };
        assert!(why(&html, path).contains("not JSON"));
        assert_eq!(gdt(1_764_558_000_000).unwrap(), "2025-12-01 03:00:00");
    }
}
