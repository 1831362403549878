//! Sweep: finish what the event path left behind. Attempts stuck in DIALING are placed
//! (the lease and the adoption of a running call keep this exactly-once); calls overdue in
//! CALLING are looked up and finished as if their flow-end event had arrived. Idempotent
//! with the event path: whichever applies an attempt's end first wins, the other is
//! ignored.

use super::{Engine, EngineError};
use crate::escalation::{Next, SweepAction};
use crate::model::{CallOutcome, ExecutionSid};
use crate::ports::{CallState, Metric, Stored};

/// A call still active this long past ring timeout + grace is ended by the sweeper (the
/// flow's gather and confirmation take well under a minute).
const MAX_CALL_OVERRUN_MS: u64 = 5 * 60 * 1000;

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    /// Active escalations looked at.
    pub checked: usize,
    /// DIALING attempts placed (never placed, or a busy wait over).
    pub dialled: usize,
    /// Calls whose flow-end event never came, finished from the telephony side.
    pub redriven: usize,
    /// Calls still active long past their time, ended and finished.
    pub ended: usize,
    /// Calls still running within their allowance: left alone.
    pub still_active: usize,
    /// Escalations that could not be handled this time (retried next sweep).
    pub errors: usize,
    /// Stored escalations that could not be read at all (skipped, logged, counted).
    pub unreadable: usize,
    /// Of the errors, those that are faults of the configuration (credentials, the flow):
    /// the sweeper function fails its invocation when there is one.
    pub configuration_errors: usize,
}

impl Engine {
    /// Look at every active escalation once. Each is judged at the time the sweep reaches
    /// it (a sweep can take long), never at the time the sweep started.
    pub async fn sweep(&self) -> Result<SweepReport, EngineError> {
        let grace_ms = u64::from(self.settings.sweep_grace_secs) * 1000;
        let mut report = SweepReport::default();
        let scan = self.ports.repo.active().await?;
        for bad in &scan.unreadable {
            tracing::error!(key = %bad.key, problem = %bad.problem,
                "sweeper: a stored escalation cannot be read; skipped (fix or remove it)");
        }
        report.unreadable = scan.unreadable.len();
        self.ports.metrics.count(
            "escalation-sweeper",
            Metric::UnreadableEscalations,
            report.unreadable,
        );
        for stored in scan.escalations {
            report.checked += 1;
            let id = stored.escalation.id().clone();
            let now = self.now();
            let Some(action) = stored.escalation.sweep_action(now, grace_ms) else {
                continue;
            };
            let result = match action {
                SweepAction::Dial => {
                    tracing::warn!(escalation_id = %id, "sweeper: placing a call that was never placed");
                    self.dial(stored).await.map(|_| report.dialled += 1)
                }
                SweepAction::CheckExecution {
                    attempt,
                    sid,
                    overdue_ms,
                } => {
                    self.sweep_call(stored, attempt, &sid, overdue_ms, &mut report)
                        .await
                }
            };
            if let Err(e) = result {
                tracing::error!(escalation_id = %id, error = %e,
                    "sweeper could not finish this escalation; next sweep retries");
                report.errors += 1;
                report.configuration_errors += usize::from(e.is_configuration());
            }
        }
        tracing::info!(?report, "sweep done");
        Ok(report)
    }

    async fn sweep_call(
        &self,
        stored: Stored,
        attempt: u32,
        sid: &ExecutionSid,
        overdue_ms: u64,
        report: &mut SweepReport,
    ) -> Result<(), EngineError> {
        let id = stored.escalation.id().clone();
        match self.ports.dialer.state(sid).await? {
            CallState::Active if overdue_ms < MAX_CALL_OVERRUN_MS => {
                report.still_active += 1;
                Ok(())
            }
            state @ (CallState::Active | CallState::Ended) => {
                if state == CallState::Active {
                    tracing::warn!(escalation_id = %id, execution = %sid, "sweeper: ending an execution that overran");
                    self.ports.dialer.end(sid).await?;
                    report.ended += 1;
                } else {
                    tracing::warn!(escalation_id = %id, execution = %sid,
                        "sweeper: flow-end event never applied; finishing from Twilio");
                    report.redriven += 1;
                }
                self.on_execution_ended(sid.as_str()).await.map(|_| ())
            }
            CallState::Gone => {
                // The telephony side no longer knows the call: count it as a failed call and
                // move on.
                let Ok((stored, t)) = self
                    .commit(stored, |e| {
                        e.on_call_ended(attempt, Some(sid), CallOutcome::Failed, self.now())
                    })
                    .await?
                else {
                    return Ok(());
                };
                self.observe(&stored.escalation, &t);
                report.redriven += 1;
                if t.next == Next::Dial {
                    self.dial(stored).await?;
                }
                Ok(())
            }
        }
    }
}
