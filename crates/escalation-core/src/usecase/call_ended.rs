//! Call ended: apply the end of a call (from the telephony side's event, or found by the
//! sweeper) and place the next call or finish.
//!
//! Events arrive at least once and out of order. Each is applied once, and the
//! escalation itself is the record of that: the end of a call is saved with the attempt's
//! history (its execution SID) in the same conditional write that moves the walk on, so a
//! redelivered event finds its call in the history and is a duplicate, and one about a
//! call that is no longer current is ignored. No separate mark is read or written: per
//! relevant event one Context read, one escalation read, one queued note and one
//! conditional write (and the next call). A failure before the write leaves the event to
//! be redelivered.

use super::{Engine, EngineError};
use crate::escalation::Next;
use crate::model::ExecutionSid;
use crate::ports::{Metric, TelephonyError, TelephonyErrorKind};

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
    /// An event saying that execution `execution_sid` ended: applied once (see the
    /// module's comment).
    pub async fn on_flow_ended(
        &self,
        event_id: &str,
        execution_sid: &str,
    ) -> Result<EventOutcome, EngineError> {
        let outcome = self.ended(execution_sid).await?;
        match &outcome {
            EventOutcome::Duplicate => tracing::info!(
                event_id,
                execution = execution_sid,
                "duplicate event: the end of this call is already applied"
            ),
            EventOutcome::Applied(EventResult::Ignored(reason)) => tracing::info!(event_id,
                execution = execution_sid, reason = %reason, "event ignored"),
            EventOutcome::Applied(_) => {}
        }
        Ok(outcome)
    }

    /// Apply the end of an execution: read how it ended, move the escalation on, place the
    /// next call or finish.
    pub async fn on_execution_ended(
        &self,
        execution_sid: &str,
    ) -> Result<EventResult, EngineError> {
        Ok(match self.ended(execution_sid).await? {
            EventOutcome::Applied(result) => result,
            EventOutcome::Duplicate => EventResult::Ignored(format!(
                "the end of execution {execution_sid} is already applied"
            )),
        })
    }

    async fn ended(&self, execution_sid: &str) -> Result<EventOutcome, EngineError> {
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
                return Ok(ignored(format!(
                    "execution {execution_sid} not found at Twilio"
                )));
            }
            Err(e) => {
                self.ports.metrics.count("engine", Metric::TwilioErrors, 1);
                return Err(e.into());
            }
        };
        let Some(params) = report.params else {
            return Ok(ignored(format!(
                "execution {execution_sid} carries no escalation parameters (not started by us)"
            )));
        };
        let Some(stored) = self.ports.repo.load(&params.sys_id).await? else {
            return Ok(ignored(format!(
                "no escalation for incident {}",
                params.sys_id
            )));
        };
        if stored.escalation.id() != &params.escalation_id {
            return Ok(ignored(format!(
                "execution belongs to escalation {}, the incident has {}",
                params.escalation_id,
                stored.escalation.id()
            )));
        }
        let outcome = report.outcome;
        let attempt = params.attempt;
        let person = stored.escalation.attempt(attempt).map(|a| a.person.clone());
        let now = self.now();
        match self
            .commit(stored, |e| {
                e.on_call_ended(attempt, Some(&sid), outcome.clone(), now)
            })
            .await?
        {
            Err((stored, reason)) => {
                // A redelivered event may find the next call written but never placed (the
                // earlier try died between the two): place it now. Not if it was written
                // just now: then its writer is placing it at this moment.
                let already = stored.escalation.has_ended(&sid);
                if stored.escalation.has_abandoned_dial(self.now()) {
                    self.dial(stored).await?;
                }
                if already {
                    return Ok(EventOutcome::Duplicate);
                }
                Ok(ignored(reason.to_string()))
            }
            Ok((stored, t)) => {
                let esc = &stored.escalation;
                tracing::info!(escalation_id = %esc.id(), incident = %esc.incident().number,
                    attempt, outcome = ?outcome, next = ?t.next, "call ended");
                self.observe(esc, &t);
                self.hang_up_calls(esc.id(), &t.hang_up).await;
                if let Some(person) = &person {
                    self.offer_sms(&stored, attempt, person).await;
                }
                if t.next == Next::Dial {
                    self.dial(stored).await?;
                }
                Ok(EventOutcome::Applied(EventResult::Applied { next: t.next }))
            }
        }
    }
}

fn ignored(reason: String) -> EventOutcome {
    EventOutcome::Applied(EventResult::Ignored(reason))
}
