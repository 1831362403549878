//! `escalation-sweeper`: runs on an EventBridge schedule and finishes attempts whose
//! flow-end event never came (DESIGN §4). Idempotent with the event path.

use crate::app::{App, SweepReport};
use crate::outbox::UpdateQueue;
use crate::servicenow::ServiceNow;
use crate::store::EscalationStore;
use crate::twilio::Studio;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

/// The scheduled event's content does not matter; the sweep uses the current time.
pub async fn handle<S: EscalationStore, T: Studio, Q: UpdateQueue, N: ServiceNow>(
    app: &App<S, T, Q, N>,
    _event: LambdaEvent<Value>,
) -> Result<SweepReport, lambda_runtime::Error> {
    Ok(app.sweep(crate::clock::now_ms()).await?)
}
