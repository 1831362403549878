//! Hanging up the other calls in flight once someone accepted (the rest of a ring-all step,
//! or the call ringing when a text accepted), through the Calls API. Their attempts are already recorded as hung up in the same write that
//! accepted, so each call's flow-end event that follows is a duplicate; a hang-up that
//! fails leaves the call to end by itself (a key pressed on it hears that someone else
//! accepted).

use super::Engine;
use crate::escalation::HangUp;
use crate::model::EscalationId;
use crate::ports::Metric;

impl Engine {
    /// End every call in `calls` at once (one slow answer does not hold up the others);
    /// failures are logged and counted, never returned.
    pub(super) async fn hang_up_calls(&self, escalation: &EscalationId, calls: &[HangUp]) {
        let ends = calls
            .iter()
            .map(|call| self.ports.dialer.hang_up(&call.execution));
        let results = futures::future::join_all(ends).await;
        for (call, result) in calls.iter().zip(results) {
            match result {
                Ok(how) => tracing::info!(escalation_id = %escalation, attempt = call.attempt,
                    execution = %call.execution, ?how, "hung up another call in flight"),
                Err(e) => {
                    tracing::warn!(escalation_id = %escalation, attempt = call.attempt,
                        execution = %call.execution, error = %e, "could not hang up a call");
                    self.ports
                        .metrics
                        .count("engine", Metric::HangUpFailures, 1);
                }
            }
        }
    }
}
