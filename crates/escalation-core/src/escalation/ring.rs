//! A ring-all step: every person of the step is called at once, each call its own attempt
//! (own number, execution and dial lease). The first accept wins and the others' calls are
//! hung up (recorded as [`CallOutcome::HungUp`], so their flow-end events find their call
//! already applied). Passes and unanswered calls of the step count as the step's outcome
//! only once every call of the step has ended: then the walk moves past the whole step
//! (digit 3 pressed by anyone escalates; when every call went unanswered and the step has
//! redials left, the whole step is rung again).

use super::{Attempt, AttemptRecord, Escalation, Slot};
use crate::model::{CallOutcome, ExecutionSid};

/// A call to hang up because someone else of its ring-all step accepted first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HangUp {
    pub attempt: u32,
    pub execution: ExecutionSid,
    /// Whose call it is.
    pub person: String,
}

/// What a ring-all step came to once all its calls ended.
pub(super) struct StepOutcome {
    /// Someone pressed 3.
    pub escalated: bool,
    /// Nobody made a choice (every call unanswered, no key, busy line, machine).
    pub unanswered: bool,
}

impl Escalation {
    /// How many people ring together from `slot`: the people next to each other on its
    /// list with the same ring-all step (1 when the person rings alone, and always in a
    /// pass over busy people).
    pub(super) fn ring_size(&self, slot: Slot) -> u32 {
        if self.s.busy_pass.is_some() {
            return 1;
        }
        let list = self.s.roster.list(slot.list);
        let Some(step) = list.get(slot.position).and_then(|p| p.ring_step) else {
            return 1;
        };
        list[slot.position..]
            .iter()
            .take_while(|p| p.ring_step == Some(step))
            .count() as u32
    }

    /// Take attempt `number` out of the attempts in flight (the next of its step becomes
    /// the current one).
    pub(super) fn take_in_flight(&mut self, number: u32) -> Option<Attempt> {
        if self.s.current.as_ref().is_some_and(|a| a.number == number) {
            let taken = self.s.current.take();
            if !self.s.ring.is_empty() {
                self.s.current = Some(self.s.ring.remove(0));
            }
            return taken;
        }
        let i = self.s.ring.iter().position(|a| a.number == number)?;
        Some(self.s.ring.remove(i))
    }

    /// Someone of the step accepted: end every other attempt in flight, recorded as hung up
    /// for `winner`; the ones whose call was placed are returned to be hung up.
    pub(super) fn hang_up_the_rest(&mut self, winner: &str, now: u64) -> Vec<HangUp> {
        let rest: Vec<Attempt> = self
            .s
            .current
            .take()
            .into_iter()
            .chain(self.s.ring.drain(..))
            .collect();
        let mut hang_up = Vec::new();
        for a in rest {
            self.s.history.push(AttemptRecord {
                number: a.number,
                list: a.list,
                name: a.person.name.clone(),
                masked_phone: a.person.phone.masked(),
                execution_sid: a.execution_sid.as_ref().map(ExecutionSid::to_string),
                outcome: CallOutcome::HungUp(winner.to_owned()),
                started_at: a.started_at,
                ended_at: now,
            });
            if let Some(execution) = a.own_call().cloned() {
                hang_up.push(HangUp {
                    attempt: a.number,
                    execution,
                    person: a.person.name,
                });
            }
        }
        hang_up
    }

    /// Drop every attempt in flight (the escalation is ending by other means): the first
    /// placed call, whose it is (all the names when several rang), and the other placed
    /// calls. A call shared with other incidents (a bundle call) is left to them.
    pub(super) fn end_in_flight(&mut self) -> (Option<ExecutionSid>, Option<String>, Vec<HangUp>) {
        let placed: Vec<Attempt> = self
            .s
            .current
            .take()
            .into_iter()
            .chain(self.s.ring.drain(..))
            .filter(|a| a.own_call().is_some())
            .collect();
        let names: Vec<&str> = placed.iter().map(|a| a.person.name.as_str()).collect();
        let ringing = (!names.is_empty()).then(|| names.join(", "));
        let mut calls = placed.into_iter().filter_map(|a| {
            Some(HangUp {
                attempt: a.number,
                execution: a.execution_sid?,
                person: a.person.name,
            })
        });
        let first = calls.next().map(|h| h.execution);
        (first, ringing, calls.collect())
    }

    /// The outcome of the ring-all step of `size` attempts whose last call just ended (its
    /// calls are the last `size` records).
    pub(super) fn step_outcome(&self, size: u32) -> StepOutcome {
        let records = &self.s.history[self.s.history.len().saturating_sub(size as usize)..];
        StepOutcome {
            escalated: records.iter().any(|r| r.outcome == CallOutcome::Escalated),
            unanswered: records.iter().all(|r| r.outcome.allows_redial()),
        }
    }

    /// Move the walk past the `size` people of a ring-all step.
    pub(super) fn advance_past(&mut self, size: u32) {
        for _ in 0..size {
            self.advance();
        }
    }
}
