//! The dial queue of the in-process stack: batches of escalation-dialer's queue handed to
//! the real dialer handler (or another container's), acknowledged as Lambda would.

use super::Stack;
use crate::esm::failed_ids;
use aws_lambda_events::event::sqs::SqsEvent;
use escalation_lambda::handlers::EscalationDialer;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};

impl Stack {
    /// Run escalation-dialer on an SQS event; returns the response JSON.
    pub async fn invoke_dialer(&self, event: Value) -> Result<Value, String> {
        self.invoke_dialer_on(&self.dialer, event).await
    }

    async fn invoke_dialer_on(
        &self,
        dialer: &EscalationDialer,
        event: Value,
    ) -> Result<Value, String> {
        let ev: SqsEvent = serde_json::from_value(event).expect("SQS event");
        let resp = dialer
            .handle(LambdaEvent::new(ev, Context::default()))
            .await
            .map_err(|e| e.to_string())?;
        Ok(serde_json::to_value(resp).unwrap())
    }

    /// One batch of the dial queue through escalation-dialer (a failed invocation leaves
    /// the batch on the queue, as Lambda would). `None`: the queue is empty.
    pub async fn pump_dials(&self) -> Option<(Value, Result<Value, String>)> {
        self.pump_dials_on(&self.dialer).await
    }

    /// [`Stack::pump_dials`] through another container's dialer.
    pub async fn pump_dials_on(
        &self,
        dialer: &EscalationDialer,
    ) -> Option<(Value, Result<Value, String>)> {
        let batch = self.dials.next_batch().await?;
        let resp = self.invoke_dialer_on(dialer, batch.clone()).await;
        let ack = resp.clone().unwrap_or_else(|_| {
            let all: Vec<Value> = batch["Records"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| json!({ "itemIdentifier": r["messageId"] }))
                .collect();
            json!({ "batchItemFailures": all })
        });
        self.dials.ack(&batch, &ack).await;
        Some((batch, resp))
    }

    /// Dial batches until one fails or the queue is empty; returns the batches dialled.
    pub async fn drain_dials(&self) -> usize {
        let mut n = 0;
        while let Some((_, resp)) = self.pump_dials().await {
            n += 1;
            let failed = resp.as_ref().map_or(true, |r| !failed_ids(r).is_empty());
            if failed {
                break;
            }
        }
        n
    }

    /// Calls waiting in the dial queue (visible and in flight).
    pub async fn dials_waiting(&self) -> u64 {
        self.dials.depth().await
    }
}
