//! A decision of the person of one attempt, from whatever channel carried it: a key pressed
//! on the call, or a reply to the text message sent after their call went unanswered.
//!
//! A decision about the call in progress is the end of that call ([`Escalation::on_call_ended`]).
//! A decision about an attempt that already ended unanswered (only a text offer outlives
//! such a call) is taken for the same person:
//! - their next call is already waiting or ringing (a redial): it ends with the decision
//!   (an accept takes the incident, a pass skips the redial and the walk moves on), and the
//!   ringing call is returned to be hung up;
//! - the walk is with someone else, or it was exhausted: an accept takes the incident for
//!   them (the ringing call, someone else's, is returned to be hung up; after exhaustion
//!   the incident is given back to its own group when the catch-all group had been set);
//!   a pass changes nothing but the record.
//!
//! Either way it is one rule and one conditional write: the first accept wins, by key or by
//! text.

use super::{Escalation, Ignored, Next, Status, Transition};
use crate::model::{CallOutcome, ExecutionSid, Person};
use crate::notes;
use crate::update::{IncidentState, IncidentUpdate};

/// What a decision changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decided {
    /// The walk moved on or ended.
    Walk {
        transition: Transition,
        /// The call to hang up: the one ringing when the decision came from outside it.
        hang_up: Option<ExecutionSid>,
        /// Whether an attempt ended with it (not so for an accept that took the incident
        /// for someone whose call had ended before).
        attempt_ended: bool,
    },
    /// Nothing but the record: a pass by someone the walk had already moved on from.
    Noted(IncidentUpdate),
}

impl Decided {
    pub fn update(&self) -> &IncidentUpdate {
        match self {
            Decided::Walk { transition, .. } => &transition.update,
            Decided::Noted(update) => update,
        }
    }
}

fn unanswered(outcome: &CallOutcome) -> bool {
    matches!(
        outcome,
        CallOutcome::NoAnswer | CallOutcome::Busy | CallOutcome::Machine
    )
}

impl Escalation {
    /// Apply the decision (`Accepted`, `Passed` or `Declined`) of the person of call
    /// `attempt` (see the module's comment). `execution`: the call it was made on, when the
    /// channel knows it.
    pub fn decide(
        &mut self,
        attempt: u32,
        execution: Option<&ExecutionSid>,
        outcome: CallOutcome,
        now: u64,
    ) -> Result<Decided, Ignored> {
        let in_flight = self.attempt(attempt).is_some();
        let Some(person) = self
            .ended_unanswered(attempt, execution)
            .filter(|_| !in_flight)
        else {
            let transition = self.on_call_ended(attempt, execution, outcome, now)?;
            return Ok(Decided::Walk {
                transition,
                hang_up: None,
                attempt_ended: true,
            });
        };
        let accept = outcome == CallOutcome::Accepted;
        match self.s.status {
            Status::Active => {}
            Status::Exhausted if accept => {}
            status => return Err(Ignored::Finished(status)),
        }
        let redial = self
            .in_flight()
            .find(|a| a.person.phone == person.phone)
            .map(|a| (a.number, a.own_call().cloned()));
        if let Some((number, hang_up)) = redial {
            let mut transition = self.on_call_ended(number, None, outcome.clone(), now)?;
            let note = &mut transition.update.work_note;
            *note = notes::decided_by_text(note, &outcome, attempt, hang_up.is_some());
            return Ok(Decided::Walk {
                transition,
                hang_up,
                attempt_ended: true,
            });
        }
        if !accept {
            let note = notes::passed_by_text(
                self.s.id.as_str(),
                attempt,
                &person.name,
                &person.phone.masked(),
            );
            self.s.updated_at = now;
            return Ok(Decided::Noted(
                self.update(&format!("attempt:{attempt}:text"), note),
            ));
        }
        let exhausted = self.s.status == Status::Exhausted;
        // The calls in flight (someone else's, or the rest of a ring-all step) end as hung
        // up for this person, so their flow-end events find them already applied.
        let hung_up = self.hang_up_the_rest(&person.name, now);
        let names: Vec<&str> = hung_up.iter().map(|h| h.person.as_str()).collect();
        let ringing = (!names.is_empty()).then(|| names.join(", "));
        self.s.status = Status::Accepted;
        self.s.accepted_by = Some(person.name.clone());
        self.s.updated_at = now;
        let mut note =
            notes::accepted_by_text(self.s.id.as_str(), attempt, &person, ringing.as_deref());
        let regroup = exhausted
            && self.s.policy.fallback_group.is_some()
            && self.s.incident.assignment_group.is_some();
        if exhausted {
            note.push_str(&notes::accepted_after_exhaustion(regroup));
        }
        note.push_str(&notes::accepted(
            &person.name,
            now,
            now.saturating_sub(self.s.created_at),
        ));
        let mut update = self.update(&format!("attempt:{attempt}:text"), note);
        update.state = Some(IncidentState::InProgress);
        update.assign_to = person.sn_user.clone();
        if regroup {
            update.assignment_group = self.s.incident.assignment_group.clone();
        }
        Ok(Decided::Walk {
            transition: Transition {
                next: Next::Done(Status::Accepted),
                update,
                hang_up: hung_up,
            },
            hang_up: None,
            attempt_ended: false,
        })
    }

    /// The person of `attempt` when that call has ended unanswered (and was `execution`,
    /// when one is named).
    fn ended_unanswered(&self, attempt: u32, execution: Option<&ExecutionSid>) -> Option<Person> {
        let record = self.s.history.iter().find(|h| h.number == attempt)?;
        let same_call =
            execution.is_none_or(|sid| record.execution_sid.as_deref() == Some(sid.as_str()));
        if !unanswered(&record.outcome) || !same_call {
            return None;
        }
        self.s
            .roster
            .people()
            .find(|p| p.name == record.name)
            .cloned()
    }
}
