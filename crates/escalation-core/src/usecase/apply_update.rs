//! Apply update: write one queued update to the incident, exactly once.
//!
//! Before writing, a mark says whether it was applied; on a redelivery without a mark (a
//! crash between the write and the mark), the incident's work notes are searched for the
//! update's reference. After writing: the mark.

use crate::notes;
use crate::ports::{IncidentWriter, Mark, Marks, Metric, Metrics, RepoError, ServiceNowError};
use crate::update::{IncidentPatch, IncidentUpdate};
use std::sync::Arc;

pub const UPDATE_MARK_TTL_SECS: u64 = 30 * 24 * 3600;

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error(transparent)]
    ServiceNow(#[from] ServiceNowError),
    #[error(transparent)]
    Repo(#[from] RepoError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Written,
    AlreadyApplied,
}

/// Writes queued updates to ServiceNow.
#[derive(Clone)]
pub struct UpdateApplier {
    marks: Arc<dyn Marks>,
    servicenow: Arc<dyn IncidentWriter>,
    metrics: Arc<dyn Metrics>,
}

/// The function name metrics carry.
const FUNCTION: &str = "incident-updater";

impl UpdateApplier {
    pub fn new(
        marks: Arc<dyn Marks>,
        servicenow: Arc<dyn IncidentWriter>,
        metrics: Arc<dyn Metrics>,
    ) -> Self {
        UpdateApplier {
            marks,
            servicenow,
            metrics,
        }
    }

    /// Write `update` unless it was written before. `redelivered`: the queue has handed
    /// it out before (so an earlier try may have written it without marking it).
    pub async fn apply(
        &self,
        update: &IncidentUpdate,
        redelivered: bool,
    ) -> Result<Applied, UpdateError> {
        let result = self.write_once(update, redelivered).await;
        match &result {
            Ok(Applied::AlreadyApplied) => {
                self.metrics.count(FUNCTION, Metric::DuplicatesDropped, 1)
            }
            Err(UpdateError::ServiceNow(_)) => {
                self.metrics.count(FUNCTION, Metric::ServiceNowErrors, 1)
            }
            _ => {}
        }
        result
    }

    async fn write_once(
        &self,
        update: &IncidentUpdate,
        redelivered: bool,
    ) -> Result<Applied, UpdateError> {
        let mark = Mark::Update(update.key.clone());
        if self.marks.has(&mark).await? {
            return Ok(Applied::AlreadyApplied);
        }
        let reference = notes::reference(&update.key);
        if redelivered
            && self
                .servicenow
                .note_exists(&update.sys_id, &reference)
                .await?
        {
            self.marks.put(&mark, UPDATE_MARK_TTL_SECS).await?;
            return Ok(Applied::AlreadyApplied);
        }
        let mut note = update.work_note.clone();
        let mut assigned_to = None;
        if let Some(user) = &update.assign_to {
            match self.servicenow.resolve_user(user).await? {
                Some(sys_id) => assigned_to = Some(sys_id),
                None => note.push_str(&notes::user_not_found(user)),
            }
        }
        let patch = IncidentPatch {
            work_note: format!("{note}\n{reference}"),
            state: update.state,
            assigned_to,
            assignment_group: update.assignment_group.clone(),
        };
        self.servicenow.patch(&update.sys_id, &patch).await?;
        self.marks.put(&mark, UPDATE_MARK_TTL_SECS).await?;
        tracing::info!(escalation_id = %update.escalation_id, incident = %update.incident_number,
            key = %update.key, "incident updated");
        Ok(Applied::Written)
    }
}
