//! `incident-updater`: the SQS consumer that writes queued updates to ServiceNow.
//!
//! Each message is one update (decoded by the queue adapter) applied once by the
//! [`UpdateApplier`]. A failed message is reported in `batchItemFailures`; in a FIFO batch,
//! later messages of the same incident are reported too, so notes never overtake each
//! other. After maxReceiveCount the DLQ keeps it.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use escalation_core::usecase::{Applied, UpdateApplier};
use lambda_runtime::LambdaEvent;
use std::collections::HashSet;

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("message is not an update: {0}")]
    Poison(String),
    #[error(transparent)]
    Apply(#[from] escalation_core::usecase::UpdateError),
}

#[derive(Clone)]
pub struct Updater {
    pub applier: UpdateApplier,
}

impl Updater {
    pub async fn handle(
        &self,
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
            match self.apply(msg).await {
                Ok(applied) => tracing::info!(message_id = %id, ?applied, "update done"),
                Err(e) => {
                    tracing::error!(message_id = %id, error = %e,
                        "update failed; SQS will redeliver (DLQ after max receives)");
                    response.add_failure(id);
                    if let Some(g) = group {
                        blocked_groups.insert(g);
                    }
                }
            }
        }
        Ok(response)
    }

    pub async fn apply(&self, msg: &SqsMessage) -> Result<Applied, UpdateError> {
        let body = msg
            .body
            .as_deref()
            .ok_or_else(|| UpdateError::Poison("empty body".into()))?;
        let update = escalation_adapters::aws::sqs::decode(body).map_err(UpdateError::Poison)?;
        let redelivered = msg
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|c| c.parse::<u32>().ok())
            .is_some_and(|c| c > 1);
        Ok(self.applier.apply(&update, redelivered).await?)
    }
}
