//! Call ended: apply the end of a call (from the telephony side's event, or found by the
//! sweeper) and place the next call or finish.
//!
//! Events arrive at least once and out of order. Each is applied once: its id is looked
//! up first and marked only after its work is done (a failure leaves it to be
//! redelivered); the escalation's state ignores whatever is no longer about the current
//! call.

use super::{Engine, EngineError};
use crate::escalation::Next;
use crate::model::ExecutionSid;
use crate::ports::{Mark, Metric, TelephonyError, TelephonyErrorKind};

/// Processed event ids are remembered this long (Twilio retries for up to 4 h).
pub const EVENT_MARK_TTL_SECS: u64 = 7 * 24 * 3600;

/// What became of the end of a call.
#[derive(Debug, Clone, PartialEq)]
pub enum EventResult {
    Applied { next: Next },
    Ignored(String),
}

/// What became of one event.
#[derive(Debug, Clone, PartialEq)]
pub enum EventOutcome {
    Applied(EventResult),
    /// Already applied before.
    Duplicate,
}

impl Engine {
    /// An event saying that execution `execution_sid` ended: applied once per event id.
    pub async fn on_flow_ended(
        &self,
        event_id: &str,
        execution_sid: &str,
    ) -> Result<EventOutcome, EngineError> {
        let mark = Mark::Event(event_id.to_string());
        if self.ports.marks.has(&mark).await? {
            tracing::info!(event_id, "duplicate event dropped");
            return Ok(EventOutcome::Duplicate);
        }
        let result = self.on_execution_ended(execution_sid).await?;
        if let EventResult::Ignored(reason) = &result {
            tracing::info!(event_id, execution = execution_sid, reason = %reason, "event ignored");
        }
        // Marked only after the work is done: a failure above leaves the event to be redelivered.
        if let Err(e) = self.ports.marks.put(&mark, EVENT_MARK_TTL_SECS).await {
            tracing::warn!(event_id, error = %e,
                "could not record processed event (a redelivery will be ignored by state)");
        }
        Ok(EventOutcome::Applied(result))
    }

    /// Apply the end of an execution: read how it ended, move the escalation on, place the
    /// next call or finish.
    pub async fn on_execution_ended(
        &self,
        execution_sid: &str,
    ) -> Result<EventResult, EngineError> {
        let report = match ExecutionSid::parse(execution_sid) {
            Ok(sid) => self.ports.dialer.report(&sid).await.map(|r| (sid, r)),
            Err(e) => Err(TelephonyError {
                kind: TelephonyErrorKind::Rejected,
                message: e.to_string(),
            }),
        };
        let (sid, report) = match report {
            Ok((sid, Some(report))) => (sid, report),
            Ok((_, None)) => {
                return Ok(EventResult::Ignored(format!(
                    "execution {execution_sid} not found at Twilio"
                )));
            }
            Err(e) => {
                self.ports.metrics.count("engine", Metric::TwilioErrors, 1);
                return Err(e.into());
            }
        };
        let Some(params) = report.params else {
            return Ok(EventResult::Ignored(format!(
                "execution {execution_sid} carries no escalation parameters (not started by us)"
            )));
        };
        let Some(stored) = self.ports.repo.load(&params.sys_id).await? else {
            return Ok(EventResult::Ignored(format!(
                "no escalation for incident {}",
                params.sys_id
            )));
        };
        if stored.escalation.id() != &params.escalation_id {
            return Ok(EventResult::Ignored(format!(
                "execution belongs to escalation {}, the incident has {}",
                params.escalation_id,
                stored.escalation.id()
            )));
        }
        let outcome = report.outcome;
        let attempt = params.attempt;
        let now = self.now();
        match self
            .commit(stored, |e| {
                e.on_call_ended(attempt, Some(&sid), outcome.clone(), now)
            })
            .await?
        {
            Err((stored, ignored)) => {
                // A redelivered event may find the next call written but never placed (the
                // earlier try died between the two): place it now. Not if it was written
                // just now: then its writer is placing it at this moment.
                if stored.escalation.has_abandoned_dial(self.now()) {
                    self.dial(stored).await?;
                }
                Ok(EventResult::Ignored(ignored.to_string()))
            }
            Ok((stored, t)) => {
                let esc = &stored.escalation;
                tracing::info!(escalation_id = %esc.id(), incident = %esc.incident().number,
                    attempt, outcome = ?outcome, next = ?t.next, "call ended");
                self.observe(esc, &t);
                if t.next == Next::Dial {
                    self.dial(stored).await?;
                }
                Ok(EventResult::Applied { next: t.next })
            }
        }
    }
}
