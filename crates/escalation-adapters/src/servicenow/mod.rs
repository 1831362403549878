//! ServiceNow: the Table API client (signed in with Basic auth or OAuth client credentials,
//! `auth`), and the engine's ports on top of it (the updater's writes, the inbound line's
//! directory, the On-Call lineup source of `oncall`).

pub mod auth;
pub mod client;
pub mod oncall;
pub mod phone_match;
pub mod response;

pub use auth::Credentials;
pub use client::{SnClient, SnError};
pub use oncall::OnCallSource;

use async_trait::async_trait;
use escalation_core::model::{E164, SysId};
use escalation_core::ports::{
    DirectoryUser, IncidentDirectory, IncidentFields, IncidentNow, IncidentRecord, IncidentWriter,
    ServiceNowError,
};
use escalation_core::update::{IncidentPatch, IncidentState};
use serde_json::{Map, Value};

/// ServiceNow's value for an incident state.
fn state_value(state: IncidentState) -> &'static str {
    match state {
        IncidentState::InProgress => "2",
    }
}

/// Resolved (6), Closed (7) and Canceled (8): states an update must not leave.
pub fn is_closed_state(state: &str) -> bool {
    matches!(state, "6" | "7" | "8")
}

/// The product's fields as a PATCH response reports them (references as sys_ids:
/// `sysparm_exclude_reference_link` is set).
pub fn incident_now(record: &Map<String, Value>) -> IncidentNow {
    let text = |f: &str| {
        record
            .get(f)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    IncidentNow {
        in_progress: text("state") == Some(state_value(IncidentState::InProgress)),
        assigned_to: text("assigned_to").and_then(|v| SysId::parse(v).ok()),
        assignment_group: text("assignment_group").map(str::to_string),
    }
}

/// The Table API fields of a patch (`work_notes`, not `comments`: comments e-mail the
/// caller).
pub fn patch_fields(patch: &IncidentPatch) -> Map<String, Value> {
    let mut fields = Map::new();
    if let Some(state) = patch.state {
        fields.insert("state".into(), Value::String(state_value(state).into()));
    }
    if let Some(user) = &patch.assigned_to {
        fields.insert("assigned_to".into(), Value::String(user.to_string()));
    }
    if let Some(group) = &patch.assignment_group {
        fields.insert("assignment_group".into(), Value::String(group.clone()));
    }
    fields.insert("work_notes".into(), Value::String(patch.work_note.clone()));
    fields
}

#[async_trait]
impl IncidentWriter for SnClient {
    async fn resolve_user(&self, user: &str) -> Result<Option<SysId>, ServiceNowError> {
        Ok(SnClient::resolve_user(self, user).await?)
    }

    async fn note_exists(&self, sys_id: &SysId, needle: &str) -> Result<bool, ServiceNowError> {
        Ok(self.work_note_exists(sys_id, needle).await?)
    }

    async fn is_closed(&self, sys_id: &SysId) -> Result<bool, ServiceNowError> {
        let state = self.incident_state(sys_id).await?;
        Ok(state.as_deref().is_some_and(is_closed_state))
    }

    async fn patch(
        &self,
        sys_id: &SysId,
        patch: &IncidentPatch,
    ) -> Result<IncidentNow, ServiceNowError> {
        let record = self
            .append_once(sys_id, &patch_fields(patch), patch.reference.as_deref())
            .await?;
        Ok(incident_now(&record))
    }
}

#[async_trait]
impl IncidentDirectory for SnClient {
    async fn resolve_user(&self, user: &str) -> Result<Option<SysId>, ServiceNowError> {
        Ok(SnClient::resolve_user(self, user).await?)
    }

    async fn find_users_by_phone(
        &self,
        number: &E164,
        default_country_code: Option<&str>,
    ) -> Result<Vec<DirectoryUser>, ServiceNowError> {
        Ok(SnClient::find_users_by_phone(self, number, default_country_code).await?)
    }

    async fn find_incident_by_correlation(
        &self,
        correlation_id: &str,
    ) -> Result<Option<IncidentRecord>, ServiceNowError> {
        Ok(SnClient::find_incident_by_correlation(self, correlation_id).await?)
    }

    async fn create_incident(
        &self,
        fields: &IncidentFields,
    ) -> Result<IncidentRecord, ServiceNowError> {
        Ok(SnClient::create_incident(self, fields).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_patch_response_tells_what_the_incident_kept() {
        let record = |v: Value| v.as_object().unwrap().clone();
        let kept = incident_now(&record(json!({
            "sys_id": "ef43c6d40a0a0b5700c77f9bf387afe3", "state": "2",
            "assigned_to": "62826bf03710200044e0bfc8bcbe5df1", "assignment_group": ""
        })));
        assert!(kept.in_progress);
        assert_eq!(
            kept.assigned_to.as_ref().map(SysId::as_str),
            Some("62826bf03710200044e0bfc8bcbe5df1")
        );
        assert_eq!(kept.assignment_group, None, "empty means unset");
        let dropped = incident_now(&record(json!({"state": "1", "assigned_to": ""})));
        assert_eq!(dropped, IncidentNow::default());
    }
}
