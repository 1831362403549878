//! ServiceNow in memory: incidents with their work notes, users, and write faults that
//! strike before or after the write is applied.

use crate::model::{E164, SysId};
use crate::ports::{
    DirectoryUser, IncidentDirectory, IncidentFields, IncidentNow, IncidentRecord, IncidentWriter,
    ServiceNowError, ServiceNowErrorKind,
};
use crate::update::IncidentPatch;
use async_trait::async_trait;
use std::collections::VecDeque;
use std::sync::Mutex;

/// A write that was applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenPatch {
    pub sys_id: SysId,
    pub patch: IncidentPatch,
}

/// A fault for the next patch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchFault {
    /// Refused before anything is written.
    Before(ServiceNowErrorKind),
    /// Written, then the answer is an error (as a 502 or a timeout after the commit).
    After(ServiceNowErrorKind),
}

#[derive(Default)]
struct State {
    patches: Vec<WrittenPatch>,
    faults: VecDeque<PatchFault>,
    users: Vec<(SysId, String, String, E164)>,
    incidents: Vec<(IncidentRecord, String)>,
    /// Fields an ACL silently drops from every write.
    dropped: Vec<String>,
    /// Incidents resolved or closed by someone.
    closed: Vec<SysId>,
}

#[derive(Default)]
pub struct MemoryServiceNow(Mutex<State>);

fn error(kind: ServiceNowErrorKind) -> ServiceNowError {
    ServiceNowError {
        kind,
        message: "injected ServiceNow fault".into(),
    }
}

impl MemoryServiceNow {
    pub fn add_user(&self, sys_id: &SysId, user_name: &str, name: &str, phone: &E164) {
        self.0.lock().unwrap().users.push((
            sys_id.clone(),
            user_name.to_string(),
            name.to_string(),
            phone.clone(),
        ));
    }

    /// From now on, writes to `field` are accepted and silently dropped (as an ACL or a
    /// data policy does).
    pub fn drop_field(&self, field: &str) {
        self.0.lock().unwrap().dropped.push(field.to_string());
    }

    /// Someone resolved or closed the incident.
    pub fn close(&self, sys_id: &SysId) {
        self.0.lock().unwrap().closed.push(sys_id.clone());
    }

    /// Faults for the next patches, in order.
    pub fn fault_patches(&self, faults: impl IntoIterator<Item = PatchFault>) {
        self.0.lock().unwrap().faults.extend(faults);
    }

    pub fn patches(&self) -> Vec<WrittenPatch> {
        self.0.lock().unwrap().patches.clone()
    }

    /// The work notes written to an incident, in order.
    pub fn notes(&self, sys_id: &SysId) -> Vec<String> {
        self.patches()
            .into_iter()
            .filter(|p| &p.sys_id == sys_id)
            .map(|p| p.patch.work_note)
            .collect()
    }
}

#[async_trait]
impl IncidentWriter for MemoryServiceNow {
    async fn resolve_user(&self, user: &str) -> Result<Option<SysId>, ServiceNowError> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .users
            .iter()
            .find(|(id, name, _, _)| id.as_str() == user || name == user)
            .map(|(id, ..)| id.clone()))
    }

    async fn note_exists(&self, sys_id: &SysId, needle: &str) -> Result<bool, ServiceNowError> {
        Ok(self.notes(sys_id).iter().any(|n| n.contains(needle)))
    }

    async fn is_closed(&self, sys_id: &SysId) -> Result<bool, ServiceNowError> {
        Ok(self.0.lock().unwrap().closed.contains(sys_id))
    }

    async fn patch(
        &self,
        sys_id: &SysId,
        patch: &IncidentPatch,
    ) -> Result<IncidentNow, ServiceNowError> {
        let mut state = self.0.lock().unwrap();
        let kept = |set: bool, field: &str| set && !state.dropped.iter().any(|d| d == field);
        let now = IncidentNow {
            in_progress: kept(patch.state.is_some(), "state"),
            assigned_to: patch
                .assigned_to
                .clone()
                .filter(|_| kept(true, "assigned_to")),
            assignment_group: patch
                .assignment_group
                .clone()
                .filter(|_| kept(true, "assignment_group")),
        };
        let fault = state.faults.pop_front();
        if let Some(PatchFault::Before(kind)) = fault {
            return Err(error(kind));
        }
        state.patches.push(WrittenPatch {
            sys_id: sys_id.clone(),
            patch: patch.clone(),
        });
        match fault {
            Some(PatchFault::After(kind)) => Err(error(kind)),
            _ => Ok(now),
        }
    }
}

#[async_trait]
impl IncidentDirectory for MemoryServiceNow {
    async fn resolve_user(&self, user: &str) -> Result<Option<SysId>, ServiceNowError> {
        IncidentWriter::resolve_user(self, user).await
    }

    async fn find_users_by_phone(
        &self,
        number: &E164,
        _default_country_code: Option<&str>,
    ) -> Result<Vec<DirectoryUser>, ServiceNowError> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .users
            .iter()
            .filter(|(.., phone)| phone == number)
            .map(|(sys_id, user_name, name, _)| DirectoryUser {
                sys_id: sys_id.clone(),
                user_name: user_name.clone(),
                name: name.clone(),
            })
            .collect())
    }

    async fn find_incident_by_correlation(
        &self,
        correlation_id: &str,
    ) -> Result<Option<IncidentRecord>, ServiceNowError> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .incidents
            .iter()
            .rev()
            .find(|(_, c)| c == correlation_id)
            .map(|(r, _)| r.clone()))
    }

    async fn create_incident(
        &self,
        fields: &IncidentFields,
    ) -> Result<IncidentRecord, ServiceNowError> {
        let mut state = self.0.lock().unwrap();
        let n = state.incidents.len() + 1;
        let record = IncidentRecord {
            sys_id: SysId::parse(&format!("{n:032x}")).expect("valid sys_id"),
            number: format!("INC{:07}", 10_000 + n),
            priority: fields
                .get("priority")
                .and_then(|v| v.as_str())
                .unwrap_or("1")
                .to_string(),
        };
        let correlation = fields
            .get("correlation_id")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        state.incidents.push((record.clone(), correlation));
        Ok(record)
    }
}
