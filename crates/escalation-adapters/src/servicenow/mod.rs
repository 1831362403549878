//! ServiceNow: the Table API client, and the engine's ports on top of it (the updater's
//! writes, the inbound line's directory).

pub mod client;
pub mod phone_match;

pub use client::{SnClient, SnError};

use async_trait::async_trait;
use escalation_core::model::{E164, SysId};
use escalation_core::ports::{
    DirectoryUser, IncidentDirectory, IncidentFields, IncidentRecord, IncidentWriter,
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

    async fn patch(&self, sys_id: &SysId, patch: &IncidentPatch) -> Result<(), ServiceNowError> {
        self.patch_incident(sys_id, &patch_fields(patch)).await?;
        Ok(())
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
