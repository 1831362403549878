//! `escalation-dialer`: the consumer of the dial queue. Each message asks for one call
//! (an escalation's current attempt); the engine places it if it is still due, under the
//! attempt's lease and the account-wide create rate.
//!
//! The messages of a batch are dialled at once, each waiting for its own slot under the
//! rate. A failed dial is reported in `batchItemFailures` and SQS delivers it again after
//! the visibility timeout (the sweeper also re-drives an attempt that stays DIALING); a
//! message that is not a dial request is logged and dropped. A configuration fault
//! (credentials, the flow) fails the invocation, so it shows as the function's errors.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use escalation_core::usecase::{Engine, EngineError};
use futures::future::join_all;
use lambda_runtime::LambdaEvent;

#[derive(Clone)]
pub struct EscalationDialer {
    pub engine: Engine,
}

enum Outcome {
    Done,
    Poison(String),
    Failed(EngineError),
}

impl EscalationDialer {
    pub async fn handle(
        &self,
        event: LambdaEvent<SqsEvent>,
    ) -> Result<SqsBatchResponse, lambda_runtime::Error> {
        let records = &event.payload.records;
        let outcomes = join_all(records.iter().map(|m| self.dial(m))).await;
        let mut response = SqsBatchResponse::default();
        let mut misconfigured = None;
        for (msg, outcome) in records.iter().zip(outcomes) {
            let id = msg.message_id.clone().unwrap_or_default();
            match outcome {
                Outcome::Done => {}
                Outcome::Poison(reason) => {
                    tracing::error!(message_id = %id, %reason, "not a dial request; dropped");
                }
                Outcome::Failed(e) if e.is_configuration() => {
                    tracing::error!(message_id = %id, error = %e,
                        "dial failed on a configuration fault; the invocation fails");
                    misconfigured.get_or_insert(e.to_string());
                }
                Outcome::Failed(e) => {
                    tracing::warn!(message_id = %id, error = %e,
                        "dial failed; SQS will deliver it again");
                    response.add_failure(id);
                }
            }
        }
        match misconfigured {
            Some(reason) => Err(reason.into()),
            None => Ok(response),
        }
    }

    async fn dial(&self, msg: &SqsMessage) -> Outcome {
        let body = msg.body.as_deref().unwrap_or_default();
        let req = match escalation_adapters::aws::dial_queue::decode(body) {
            Ok(r) => r,
            Err(e) => return Outcome::Poison(e),
        };
        match self.engine.dial_requested(&req).await {
            Ok(_) => Outcome::Done,
            Err(e) => Outcome::Failed(e),
        }
    }
}
