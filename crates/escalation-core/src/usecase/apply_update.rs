//! Apply update: write one queued update to the incident, exactly once.
//!
//! Before writing, a mark says whether it was applied; on a redelivery without a mark (a
//! crash between the write and the mark), the incident's work notes are searched for the
//! update's reference. After writing: the mark.

use crate::notes;
use crate::ports::{
    IncidentNow, IncidentWriter, Mark, Marks, Metric, Metrics, RepoError, ServiceNowError,
};
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
    /// About the canary's marker incident (it does not exist in ServiceNow): dropped. Its
    /// updates are never queued; this guards against one queued anyway.
    CanaryDropped,
}

/// The fields a patch set that the incident does not hold afterwards.
fn dropped_fields(patch: &IncidentPatch, now: &IncidentNow) -> Vec<&'static str> {
    let mut dropped = Vec::new();
    if patch.state.is_some() && !now.in_progress {
        dropped.push("state");
    }
    if patch.assigned_to.is_some() && now.assigned_to != patch.assigned_to {
        dropped.push("assigned_to");
    }
    if patch.assignment_group.is_some() && now.assignment_group != patch.assignment_group {
        dropped.push("assignment_group");
    }
    dropped
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
        if crate::canary::is_canary(&update.sys_id) {
            return Ok(Applied::CanaryDropped);
        }
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
        // A resolved or closed incident is never put back to In Progress nor reassigned:
        // the note is written, the fields are not. (Read just before the write; someone
        // who resolves it in between is told apart by the cancel the instance sends.)
        let changes_fields = update.state.is_some()
            || update.assign_to.is_some()
            || update.assignment_group.is_some();
        let closed = changes_fields && self.servicenow.is_closed(&update.sys_id).await?;
        if closed {
            tracing::info!(escalation_id = %update.escalation_id, incident = %update.incident_number,
                key = %update.key, "incident already resolved or closed; writing the note only");
            note.push_str(&notes::not_reopened());
        }
        let mut assigned_to = None;
        if let Some(user) = update.assign_to.as_ref().filter(|_| !closed) {
            match self.servicenow.resolve_user(user).await? {
                Some(sys_id) => assigned_to = Some(sys_id),
                None => note.push_str(&notes::user_not_found(user)),
            }
        }
        let patch = IncidentPatch {
            work_note: format!("{note}\n{reference}"),
            reference: Some(reference.clone()),
            state: update.state.filter(|_| !closed),
            assigned_to,
            assignment_group: update.assignment_group.clone().filter(|_| !closed),
        };
        let now = self.servicenow.patch(&update.sys_id, &patch).await?;
        // Retrying would not help (the write was accepted): it is marked done, and a field
        // that did not stick is reported so that someone assigns the incident by hand.
        let dropped = dropped_fields(&patch, &now);
        if !dropped.is_empty() {
            tracing::error!(escalation_id = %update.escalation_id, incident = %update.incident_number,
                key = %update.key, fields = ?dropped,
                "ServiceNow accepted the update but did not keep these fields (an ACL or data policy?); assign the incident by hand");
            self.metrics
                .count(FUNCTION, Metric::AssignmentNotApplied, dropped.len());
            let warning = IncidentPatch {
                work_note: notes::fields_not_kept(&dropped, &reference),
                reference: None,
                state: None,
                assigned_to: None,
                assignment_group: None,
            };
            if let Err(e) = self.servicenow.patch(&update.sys_id, &warning).await {
                tracing::warn!(incident = %update.incident_number, error = %e,
                    "could not add the note that fields were not kept");
            }
        }
        self.marks.put(&mark, UPDATE_MARK_TTL_SECS).await?;
        tracing::info!(escalation_id = %update.escalation_id, incident = %update.incident_number,
            key = %update.key, "incident updated");
        Ok(Applied::Written)
    }
}
