//! `incident-updater`: the SQS consumer that writes queued updates to ServiceNow.
//!
//! Each update carries an idempotency key. Before writing: a DynamoDB mark says whether it
//! was applied; on a redelivery without a mark (crash between PATCH and mark), the incident's
//! work notes are searched for the key. After writing: the mark. A failed message is
//! reported in `batchItemFailures`; in a FIFO batch, later messages of the same incident are
//! reported too, so notes never overtake each other. After maxReceiveCount the DLQ keeps it.

use crate::app::App;
use crate::domain::SnUpdate;
use crate::outbox::UpdateQueue;
use crate::servicenow::{ServiceNow, SnError};
use crate::store::{EscalationStore, StoreError};
use crate::twilio::Studio;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::LambdaEvent;
use serde_json::{Map, Value};
use std::collections::HashSet;

pub const UPDATE_MARK_TTL_SECS: u64 = 30 * 24 * 3600;

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("message is not an update: {0}")]
    Poison(String),
    #[error(transparent)]
    ServiceNow(#[from] SnError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Written,
    AlreadyApplied,
}

/// The text that identifies an update in the incident's work notes.
pub fn reference(key: &str) -> String {
    format!("(ref {key})")
}

pub async fn handle<S: EscalationStore, T: Studio, Q: UpdateQueue, N: ServiceNow>(
    app: &App<S, T, Q, N>,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    let mut response = SqsBatchResponse::default();
    let mut blocked_groups: HashSet<String> = HashSet::new();
    for msg in &event.payload.records {
        let id = msg.message_id.clone().unwrap_or_default();
        let group = msg.attributes.get("MessageGroupId").cloned();
        if let Some(g) = &group
            && blocked_groups.contains(g)
        {
            response.add_failure(id);
            continue;
        }
        match apply(app, msg).await {
            Ok(applied) => {
                if applied == Applied::AlreadyApplied {
                    crate::metrics::count("incident-updater", "DuplicatesDropped", 1);
                }
                tracing::info!(message_id = %id, ?applied, "update done")
            }
            Err(e) => {
                if matches!(e, UpdateError::ServiceNow(_)) {
                    crate::metrics::count("incident-updater", "ServiceNowErrors", 1);
                }
                tracing::error!(message_id = %id, error = %e, "update failed; SQS will redeliver (DLQ after max receives)");
                response.add_failure(id);
                if let Some(g) = group {
                    blocked_groups.insert(g);
                }
            }
        }
    }
    Ok(response)
}

pub async fn apply<S: EscalationStore, T: Studio, Q: UpdateQueue, N: ServiceNow>(
    app: &App<S, T, Q, N>,
    msg: &SqsMessage,
) -> Result<Applied, UpdateError> {
    let body = msg
        .body
        .as_deref()
        .ok_or_else(|| UpdateError::Poison("empty body".into()))?;
    let update: SnUpdate =
        serde_json::from_str(body).map_err(|e| UpdateError::Poison(e.to_string()))?;
    let mark = format!("upd#{}", update.key);
    if app.store.has_mark(&mark).await? {
        return Ok(Applied::AlreadyApplied);
    }
    let reference = reference(&update.key);
    let redelivered = msg
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|c| c.parse::<u32>().ok())
        .is_some_and(|c| c > 1);
    if redelivered && app.sn.work_note_exists(&update.sys_id, &reference).await? {
        app.store.put_mark(&mark, UPDATE_MARK_TTL_SECS).await?;
        return Ok(Applied::AlreadyApplied);
    }

    let mut note = update.work_note.clone();
    let mut fields = Map::new();
    if let Some(state) = &update.state {
        fields.insert("state".into(), Value::String(state.clone()));
    }
    if let Some(user) = &update.assign_to {
        match app.sn.resolve_user(user).await? {
            Some(sys_id) => {
                fields.insert("assigned_to".into(), Value::String(sys_id));
            }
            None => note.push_str(&format!(
                " Note: roster user {user:?} was not found in ServiceNow (sys_user), so assigned_to was not set."
            )),
        }
    }
    if let Some(group) = &update.assignment_group {
        fields.insert("assignment_group".into(), Value::String(group.clone()));
    }
    fields.insert(
        "work_notes".into(),
        Value::String(format!("{note}\n{reference}")),
    );
    app.sn.patch_incident(&update.sys_id, &fields).await?;
    app.store.put_mark(&mark, UPDATE_MARK_TTL_SECS).await?;
    tracing::info!(escalation_id = %update.escalation_id, incident = %update.incident_number, key = %update.key, "incident updated");
    Ok(Applied::Written)
}
