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
//!
//! A bundle call (one call about several incidents for one person) ends once and is
//! applied to each incident it was about, in each one's own escalation: an accept assigns
//! each, a pass moves each walk on, each gets its own note.

use super::{Engine, EngineError};
use crate::bundle::Member;
use crate::escalation::Next;
use crate::model::{CallOutcome, ExecutionSid};
use crate::ports::{Metric, Stored, TelephonyError, TelephonyErrorKind};

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
        let outcome = report.outcome;
        let primary = Member {
            sys_id: params.sys_id.clone(),
            escalation_id: params.escalation_id.clone(),
            attempt: params.attempt,
        };
        let mut due = Vec::new();
        let result = self
            .end_attempt(&primary, &sid, &outcome, true)
            .await
            .map(|(o, next)| {
                due.extend(next);
                o
            });
        // A bundle call: the key pressed applies to every incident it was about, each in its
        // own escalation. One that fails does not stop the others; the event is delivered
        // again for it (the others find their end applied already).
        let mut failed = None;
        for m in &params.bundle {
            match self.end_attempt(m, &sid, &outcome, false).await {
                Ok((_, next)) => due.extend(next),
                Err(e) => {
                    tracing::error!(escalation_id = %m.escalation_id, execution = %sid, error = %e,
                        "could not apply the end of the bundle call to this incident");
                    failed.get_or_insert(e);
                }
            }
        }
        // The next calls: those of a bundle's incidents that go to the same person are one
        // call again.
        // (dial_next logs each call it could not place.)
        if let Err(e) = self.dial_next(due).await {
            failed.get_or_insert(e);
        }
        match failed {
            Some(e) if result.is_ok() => Err(e),
            _ => result,
        }
    }

    /// Apply the end of call `sid` to one attempt it was placed for, and say whose next
    /// call is due. `texts`: the person may be texted if it went unanswered (once per
    /// call, not once per incident of a bundle).
    async fn end_attempt(
        &self,
        m: &Member,
        sid: &ExecutionSid,
        outcome: &CallOutcome,
        texts: bool,
    ) -> Result<(EventOutcome, Option<Stored>), EngineError> {
        let Some(stored) = self.ports.repo.load(&m.sys_id).await? else {
            return Ok((
                ignored(format!("no escalation for incident {}", m.sys_id)),
                None,
            ));
        };
        if stored.escalation.id() != &m.escalation_id {
            return Ok((
                ignored(format!(
                    "execution belongs to escalation {}, the incident has {}",
                    m.escalation_id,
                    stored.escalation.id()
                )),
                None,
            ));
        }
        let attempt = m.attempt;
        let person = stored.escalation.attempt(attempt).map(|a| a.person.clone());
        let now = self.now();
        match self
            .commit(stored, |e| {
                e.on_call_ended(attempt, Some(sid), outcome.clone(), now)
            })
            .await?
        {
            Err((stored, reason)) => {
                // A redelivered event may find the next call written but never placed (the
                // earlier try died between the two): place it now. Not if it was written
                // just now: then its writer is placing it at this moment.
                let already = stored.escalation.has_ended(sid);
                let next = stored
                    .escalation
                    .has_abandoned_dial(self.now())
                    .then_some(stored);
                if already {
                    return Ok((EventOutcome::Duplicate, next));
                }
                Ok((ignored(reason.to_string()), next))
            }
            Ok((stored, t)) => {
                let esc = &stored.escalation;
                tracing::info!(escalation_id = %esc.id(), incident = %esc.incident().number,
                    attempt, outcome = ?outcome, next = ?t.next, "call ended");
                self.observe(esc, &t);
                self.hang_up_calls(esc.id(), &t.hang_up).await;
                if let Some(person) = person.as_ref().filter(|_| texts) {
                    self.offer_sms(&stored, attempt, person).await;
                }
                let next = (t.next == Next::Dial).then_some(stored);
                Ok((
                    EventOutcome::Applied(EventResult::Applied { next: t.next }),
                    next,
                ))
            }
        }
    }
}

fn ignored(reason: String) -> EventOutcome {
    EventOutcome::Applied(EventResult::Ignored(reason))
}
