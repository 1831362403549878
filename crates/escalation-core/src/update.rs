//! Writes to the incident. The engine queues an [`IncidentUpdate`] for every transition; the
//! updater turns it into an [`IncidentPatch`] and writes it once.

use crate::model::{EscalationId, SysId};

/// The incident states the product sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncidentState {
    /// Someone took the incident.
    InProgress,
}

/// One queued write to an incident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentUpdate {
    /// Idempotency key: an update with the same key is never written twice.
    pub key: String,
    pub sys_id: SysId,
    pub incident_number: String,
    /// The escalation it belongs to (empty for notes of the inbound line that no
    /// escalation wrote).
    pub escalation_id: EscalationId,
    pub work_note: String,
    pub state: Option<IncidentState>,
    /// A person's `sn_user` (sys_id or user_name), resolved by the updater.
    pub assign_to: Option<String>,
    /// A group's sys_id to reassign to.
    pub assignment_group: Option<String>,
}

impl IncidentUpdate {
    /// A work note and nothing else.
    pub fn note(
        key: String,
        sys_id: SysId,
        incident_number: &str,
        escalation_id: EscalationId,
        work_note: String,
    ) -> Self {
        IncidentUpdate {
            key,
            sys_id,
            incident_number: incident_number.to_string(),
            escalation_id,
            work_note,
            state: None,
            assign_to: None,
            assignment_group: None,
        }
    }
}

/// The fields written to the incident in one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentPatch {
    pub work_note: String,
    /// Text the work note carries that identifies this write (searched for before a retry).
    pub reference: Option<String>,
    pub state: Option<IncidentState>,
    pub assigned_to: Option<SysId>,
    pub assignment_group: Option<String>,
}
