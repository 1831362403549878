//! A live decision: a person accepts or passes while their attempt is still going (a key
//! pressed during the call, read at once), or by replying to the text sent after their call
//! went unanswered, instead of when the call's end is read afterwards. Every channel comes
//! through here ([`Escalation::decide`] has the rules).
//!
//! It goes through the same rules and the same conditional write as the end of a call
//! ([`Engine::on_flow_ended`]): the attempt's record (with its execution SID) is saved
//! together with the move of the walk, so the first accept wins, a second one finds the
//! escalation accepted, and the flow-end event that follows the call finds its call
//! already in the history and changes nothing (a duplicate). Either path alone, or both in
//! any order, give one outcome and one assignment.

use super::{Engine, EngineError};
use crate::escalation::{Decided, Escalation, Ignored, Next, Status};
use crate::model::{CallOutcome, DeclineReason, EscalationId, ExecutionSid, SysId};
use crate::ports::{DialRequest, Metric, Stored};
use crate::prompts::{self, decision};
use crate::update::IncidentUpdate;

impl super::commit::Effects for Decided {
    fn update(&self) -> Option<&IncidentUpdate> {
        Some(Decided::update(self))
    }
}

/// What the person chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    /// Take the incident (1).
    Accept,
    /// Pass to the next person (2), with the reason if they gave one.
    Pass(Option<DeclineReason>),
}

impl Choice {
    fn outcome(self) -> CallOutcome {
        match self {
            Choice::Accept => CallOutcome::Accepted,
            Choice::Pass(None) => CallOutcome::Passed,
            Choice::Pass(Some(reason)) => CallOutcome::Declined(reason),
        }
    }
}

/// A decision of the person of one attempt, from whatever channel carried it. The caller
/// has authenticated it (a capability bound to this escalation and attempt).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveDecision {
    pub incident: SysId,
    pub escalation_id: EscalationId,
    pub attempt: u32,
    /// The execution of the call the decision was made on. `None` from a channel other
    /// than the call: the attempt alone names the call, and its execution's end is then
    /// the duplicate.
    pub execution: Option<ExecutionSid>,
    pub choice: Choice,
}

/// What became of a decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The incident is theirs (now, or already by this same decision sent again).
    Assigned,
    /// Passed; the next person is being called.
    Passed,
    /// Somebody else accepted first.
    AlreadyAccepted { by: String },
    /// The escalation no longer waits for this attempt: it ended, was cancelled, or moved
    /// on (the call already ended and was applied).
    NoLongerNeeded,
    /// The decision names a call that is not the attempt's call; nothing was changed.
    OtherCall,
}

/// A verdict and the words for the person, in their language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionReply {
    pub verdict: Verdict,
    pub say: String,
}

impl Engine {
    /// Apply a live decision of the person of one attempt (see the module's comment): the
    /// same rules and conditional write as the end of the call, so the first accept wins
    /// and the call's later flow-end event is a duplicate. An accept queues the assignment
    /// at once; a pass queues its note and the next call. Sending the same decision again
    /// answers the same. `None`: no escalation of that id for that incident.
    pub async fn on_live_decision(
        &self,
        d: &LiveDecision,
    ) -> Result<Option<DecisionReply>, EngineError> {
        let Some(stored) = self.ports.repo.load(&d.incident).await? else {
            return Ok(None);
        };
        if stored.escalation.id() != &d.escalation_id {
            return Ok(None);
        }
        let outcome = d.choice.outcome();
        let now = self.now();
        let committed = self
            .commit(stored, |e| {
                e.decide(d.attempt, d.execution.as_ref(), outcome.clone(), now)
            })
            .await?;
        let verdict = match committed {
            Ok((_, Decided::Noted(_))) => {
                tracing::info!(escalation_id = %d.escalation_id, attempt = d.attempt,
                    "pass noted; the walk had already moved on");
                Verdict::Passed
            }
            Ok((
                stored,
                Decided::Walk {
                    transition: t,
                    hang_up,
                    attempt_ended,
                },
            )) => {
                let esc = &stored.escalation;
                tracing::info!(escalation_id = %esc.id(), incident = %esc.incident().number,
                    attempt = d.attempt, outcome = ?outcome, next = ?t.next, "live decision applied");
                if attempt_ended {
                    self.observe(esc, &t);
                } else {
                    let tta = esc.updated_at().saturating_sub(esc.created_at()) as f64;
                    self.ports.metrics.incident(
                        esc.incident(),
                        &[(Metric::Accepts, 1.0), (Metric::TimeToAccept, tta)],
                    );
                }
                if let Some(sid) = &hang_up
                    && let Err(e) = self.ports.dialer.hang_up(sid).await
                {
                    tracing::warn!(escalation_id = %esc.id(), execution = %sid, error = %e,
                        "could not hang up the call the decision ended");
                    self.ports
                        .metrics
                        .count("engine", Metric::HangUpFailures, 1);
                }
                self.hang_up_calls(esc.id(), &t.hang_up).await;
                if t.next == Next::Dial {
                    self.next_call(stored).await?;
                }
                match d.choice {
                    Choice::Accept => Verdict::Assigned,
                    Choice::Pass(_) => Verdict::Passed,
                }
            }
            Err((stored, reason)) => {
                let verdict = refused(&stored.escalation, d, &reason);
                tracing::info!(escalation_id = %stored.escalation.id(), attempt = d.attempt,
                    %reason, ?verdict, "live decision not applied");
                verdict
            }
        };
        let load = self.ports.repo.load(&d.incident).await?;
        let esc = load.as_ref().map(|s| &s.escalation);
        Ok(Some(reply(esc, d, verdict)))
    }

    /// The call after a pass: to the dial queue when the engine has one (the decision's
    /// answer must not wait for a call to be placed), otherwise placed here.
    async fn next_call(&self, stored: Stored) -> Result<(), EngineError> {
        let esc = &stored.escalation;
        match (&self.dials, esc.current()) {
            (Some(dials), Some(attempt)) => {
                dials
                    .request(&DialRequest {
                        sys_id: esc.incident().sys_id.clone(),
                        escalation_id: esc.id().clone(),
                        attempt: attempt.number,
                    })
                    .await?
            }
            _ => {
                self.dial(stored).await?;
            }
        }
        Ok(())
    }
}

/// Why the decision did not change anything, as the person should hear it.
fn refused(esc: &Escalation, d: &LiveDecision, reason: &Ignored) -> Verdict {
    if matches!(reason, Ignored::OtherExecution { .. }) {
        return Verdict::OtherCall;
    }
    let ours = esc.history().iter().find(|h| h.number == d.attempt);
    let same_again = ours.is_some_and(|h| {
        h.outcome == d.choice.outcome()
            && match &d.execution {
                Some(sid) => h.execution_sid.as_deref() == Some(sid.as_str()),
                None => true,
            }
    });
    let theirs = ours.is_some_and(|h| esc.accepted_by() == Some(h.name.as_str()));
    match (esc.status(), esc.accepted_by()) {
        (Status::Accepted, Some(_)) if (same_again || theirs) && d.choice == Choice::Accept => {
            Verdict::Assigned
        }
        (Status::Accepted, Some(by)) => Verdict::AlreadyAccepted { by: by.to_owned() },
        _ if same_again => Verdict::Passed,
        _ => Verdict::NoLongerNeeded,
    }
}

/// The words for a verdict, in the language of the attempt's person.
fn reply(esc: Option<&Escalation>, d: &LiveDecision, verdict: Verdict) -> DecisionReply {
    let Some(esc) = esc else {
        return DecisionReply {
            say: String::new(),
            verdict,
        };
    };
    let language = esc
        .attempt(d.attempt)
        .map(|a| a.person.language.clone())
        .or_else(|| {
            let name = &esc.history().iter().find(|h| h.number == d.attempt)?.name;
            let person = esc.roster().people().find(|p| &p.name == name)?;
            Some(person.language.clone())
        })
        .flatten();
    let locale = prompts::locale(language.as_deref());
    let incident = esc.incident();
    let say = match &verdict {
        Verdict::Assigned => decision::assigned(locale, incident),
        Verdict::Passed => decision::passed(locale, incident),
        Verdict::AlreadyAccepted { by } => decision::already_accepted(locale, by),
        Verdict::NoLongerNeeded | Verdict::OtherCall => {
            decision::no_longer_needed(locale, incident)
        }
    };
    DecisionReply { verdict, say }
}
