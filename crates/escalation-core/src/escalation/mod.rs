//! The escalation aggregate: one incident's walk over its roster, one call at a time.
//! Pure code: no I/O, time passed in.
//!
//! Each call ends with a [`CallOutcome`]; [`Escalation::on_call_ended`] applies it and says
//! what happens next (call someone, or a terminal status) and which incident update it
//! implies. Every rule lives here; the use cases only load, ask and save.
//!
//! - `attempt`: the call in progress and the record of finished ones.
//! - `lease`: who may place the current call (exactly-once dialing).
//! - `walk`: who is next (passes, escalations, redials, busy people, rounds).
//! - `transition`: applying the end of a call.
//! - `cancel`: the incident was handled elsewhere.
//! - `reply`: a decision from any channel, also about a call that ended unanswered.
//! - `sweep`: what the sweeper must do about an escalation.
//! - `plan`: the worst-case walk, for the dry run.
//! - `ring`: a ring-all step, several calls at once (the first accept wins).
//! - `bundled`: an attempt waiting in a bundle, and the bundle call it was placed in.

mod attempt;
mod bridge;
mod bundled;
mod cancel;
mod lease;
mod plan;
mod policy;
mod reply;
mod ring;
mod sweep;
mod transition;
mod walk;

#[cfg(test)]
mod tests;

pub use attempt::{Attempt, AttemptRecord, Phase};
pub use cancel::{Cancel, CancelReason, Cancellation};
pub use lease::{CREATE_BUDGET_MS, DIAL_LEASE_MS, DialDue, REDRIVE_AFTER_MS};
pub use plan::{PlannedCall, plan};
pub use policy::Policy;
pub use reply::Decided;
pub use ring::HangUp;
pub use sweep::SweepAction;
pub use walk::{Cursor, Slot};

use crate::model::{EscalationId, ExecutionSid, Incident, Roster};
use crate::ports::CallRequest;
use crate::update::IncidentUpdate;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Active,
    Accepted,
    Exhausted,
    /// The incident was handled in ServiceNow by someone else ([`Escalation::cancelled`]
    /// says how).
    Cancelled,
}

impl Status {
    pub fn is_terminal(self) -> bool {
        self != Status::Active
    }
}

/// What to do after a transition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// Place the call for the escalation's (new) current attempt.
    Dial,
    /// Other calls of the same ring-all step are still going: the step's outcome waits
    /// for them, nothing is dialled now.
    Wait,
    /// Terminal: nothing more to call.
    Done(Status),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    pub next: Next,
    pub update: IncidentUpdate,
    /// Calls to hang up now: the others of a ring-all step after someone accepted.
    pub hang_up: Vec<HangUp>,
}

/// Why a change was not applied. None of these is an error: events arrive late, twice and
/// out of order, and dialers race.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Ignored {
    #[error("escalation already {0:?}")]
    Finished(Status),
    #[error("attempt {event_attempt} is not the current attempt {current:?} (stale or duplicate)")]
    NotCurrent {
        event_attempt: u32,
        current: Option<u32>,
    },
    #[error("execution {event_sid} is not the current attempt's execution {current_sid}")]
    OtherExecution {
        event_sid: String,
        current_sid: String,
    },
    #[error("attempt {attempt} is not waiting to be dialled")]
    NotDialing { attempt: u32 },
    #[error("attempt {attempt} is being dialled by another invocation (lease until {until})")]
    Leased { attempt: u32, until: u64 },
}

/// Everything an escalation is made of, for storage adapters: [`Escalation::snapshot`]
/// takes it apart, [`Escalation::restore`] puts it back together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub id: EscalationId,
    pub incident: Incident,
    pub roster: Roster,
    pub policy: Policy,
    pub status: Status,
    pub cursor: Cursor,
    pub current: Option<Attempt>,
    /// The other attempts in flight beside `current`: the rest of a ring-all step, in
    /// order. Empty whenever `current` is `None`.
    pub ring: Vec<Attempt>,
    pub history: Vec<AttemptRecord>,
    pub accepted_by: Option<String>,
    pub created_at: u64,
    pub updated_at: u64,
    /// People skipped in this walk because they were on another escalation's call.
    pub busy: Vec<Slot>,
    /// While retrying busy people: who is left to call (front = current).
    pub busy_pass: Option<VecDeque<Slot>>,
    pub busy_retries: u32,
    /// Set when the escalation was cancelled from ServiceNow.
    pub cancelled: Option<Cancel>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Escalation {
    s: Snapshot,
}

impl Escalation {
    /// A new escalation with attempt 1 (the first agent) waiting to be dialled, and the
    /// "started" note.
    pub fn start(
        id: EscalationId,
        incident: Incident,
        roster: Roster,
        policy: Policy,
        now: u64,
    ) -> (Escalation, IncidentUpdate) {
        let mut esc = Escalation {
            s: Snapshot {
                id,
                incident,
                roster,
                policy,
                status: Status::Active,
                cursor: Cursor::default(),
                current: None,
                ring: Vec::new(),
                history: Vec::new(),
                accepted_by: None,
                created_at: now,
                updated_at: now,
                busy: Vec::new(),
                busy_pass: None,
                busy_retries: 0,
                cancelled: None,
            },
        };
        esc.begin_attempt(now, None);
        let started = esc.started_note();
        (esc, started)
    }

    /// The "started" note (the same update, same key, each time it is asked for).
    pub fn started_note(&self) -> IncidentUpdate {
        let s = &self.s;
        let note = crate::notes::started(
            s.id.as_str(),
            &s.incident.priority,
            s.incident.assignment_group_name.as_deref(),
            &s.roster.agents,
            &s.roster.escalation,
            s.policy.rounds,
            s.roster.source.as_deref(),
        );
        self.update("started", note)
    }

    pub fn restore(snapshot: Snapshot) -> Escalation {
        Escalation { s: snapshot }
    }

    pub fn snapshot(&self) -> &Snapshot {
        &self.s
    }

    pub fn id(&self) -> &EscalationId {
        &self.s.id
    }

    pub fn incident(&self) -> &Incident {
        &self.s.incident
    }

    pub fn roster(&self) -> &Roster {
        &self.s.roster
    }

    pub fn policy(&self) -> &Policy {
        &self.s.policy
    }

    pub fn status(&self) -> Status {
        self.s.status
    }

    /// The call being placed or in progress.
    pub fn current(&self) -> Option<&Attempt> {
        self.s.current.as_ref()
    }

    /// Finished calls, in order.
    pub fn history(&self) -> &[AttemptRecord] {
        &self.s.history
    }

    pub fn accepted_by(&self) -> Option<&str> {
        self.s.accepted_by.as_deref()
    }

    pub fn created_at(&self) -> u64 {
        self.s.created_at
    }

    pub fn updated_at(&self) -> u64 {
        self.s.updated_at
    }

    /// Every attempt in flight: the current one, then the rest of its ring-all step.
    pub fn in_flight(&self) -> impl Iterator<Item = &Attempt> {
        self.s.current.iter().chain(&self.s.ring)
    }

    /// Attempt `number`, if it is in flight.
    pub fn attempt(&self, number: u32) -> Option<&Attempt> {
        self.in_flight().find(|a| a.number == number)
    }

    /// How many attempts were made, those in flight included.
    pub fn attempts_made(&self) -> u32 {
        self.s.history.len() as u32 + self.in_flight().count() as u32
    }

    /// The number of the latest attempt (in flight or finished).
    pub fn latest_attempt(&self) -> Option<u32> {
        self.in_flight()
            .map(|a| a.number)
            .chain(self.s.history.iter().map(|h| h.number))
            .max()
    }

    /// The first call was written but never placed (the telephony side was down when the
    /// escalation started): a repeated start request may place it.
    /// Whether the end of call `sid` is already in the history (applied once).
    pub fn has_ended(&self, sid: &ExecutionSid) -> bool {
        self.s
            .history
            .iter()
            .any(|h| h.execution_sid.as_deref() == Some(sid.as_str()))
    }

    pub fn first_call_pending(&self) -> bool {
        self.current()
            .is_some_and(|a| a.number == 1 && a.phase == Phase::Dialing)
    }

    /// What the telephony side needs to place the current attempt's call.
    pub fn call_request(&self, attempt: &Attempt) -> CallRequest {
        CallRequest {
            escalation_id: self.s.id.clone(),
            incident: self.s.incident.clone(),
            attempt: attempt.number,
            person: attempt.person.clone(),
            ring_timeout_secs: attempt
                .person
                .ring_timeout_secs
                .unwrap_or(self.s.policy.ring_timeout_secs),
            attempt_started_at: attempt.started_at,
            bundle: Vec::new(),
        }
    }

    /// Who would be called, in order, if nobody answers and nobody presses a key.
    pub fn plan(&self) -> Vec<PlannedCall> {
        plan(&self.s.roster, &self.s.policy)
    }

    fn update(&self, key_suffix: &str, work_note: String) -> IncidentUpdate {
        IncidentUpdate::note(
            format!("{}:{key_suffix}", self.s.id),
            self.s.incident.sys_id.clone(),
            &self.s.incident.number,
            self.s.id.clone(),
            work_note,
        )
    }

    /// The next attempt (the person the walk points at), or the attempts of a whole
    /// ring-all step when the walk points at its first person.
    fn begin_attempt(&mut self, now: u64, not_before: Option<u64>) {
        let slot = self.slot();
        let size = self.ring_size(slot);
        let first = self.attempts_made() + 1;
        let mut attempts = (0..size).map(|i| {
            let position = slot.position + i as usize;
            Attempt {
                number: first + i,
                list: slot.list,
                position,
                round: self.s.cursor.round,
                person: self.s.roster.list(slot.list)[position].clone(),
                phase: Phase::Dialing,
                execution_sid: None,
                started_at: now,
                not_before,
                dial_lease_until: None,
                dial_claims: 0,
                ring: if size > 1 { size } else { 0 },
                bundle: None,
            }
        });
        self.s.current = attempts.next();
        self.s.ring = attempts.collect();
    }

    /// Attempt `attempt` if it is in flight and the escalation is still going.
    fn live_attempt(&mut self, attempt: u32) -> Result<&mut Attempt, Ignored> {
        if self.s.status.is_terminal() {
            return Err(Ignored::Finished(self.s.status));
        }
        let current_number = self.s.current.as_ref().map(|a| a.number);
        self.s
            .current
            .iter_mut()
            .chain(self.s.ring.iter_mut())
            .find(|a| a.number == attempt)
            .ok_or(Ignored::NotCurrent {
                event_attempt: attempt,
                current: current_number,
            })
    }
}
