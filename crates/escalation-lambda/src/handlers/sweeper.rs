//! `escalation-sweeper`: runs on an EventBridge schedule and finishes attempts whose
//! flow-end event never came. Idempotent with the event path.

use escalation_core::usecase::{Engine, SweepReport};
use lambda_runtime::LambdaEvent;
use serde_json::Value;

#[derive(Clone)]
pub struct Sweeper {
    pub engine: Engine,
}

impl Sweeper {
    /// The scheduled event's content does not matter; the sweep judges each escalation at
    /// the time it reaches it.
    pub async fn handle(
        &self,
        _event: LambdaEvent<Value>,
    ) -> Result<SweepReport, lambda_runtime::Error> {
        let report = self.engine.sweep().await?;
        if report.configuration_errors > 0 {
            // Every escalation would meet the same fault: fail the invocation so that the
            // function's Errors metric (and its alarm) moves. The sweep itself is done.
            return Err(format!(
                "{} escalation(s) could not be moved on because of a configuration fault (Twilio credentials or flow); see the errors logged above: {report:?}",
                report.configuration_errors
            )
            .into());
        }
        Ok(report)
    }
}
