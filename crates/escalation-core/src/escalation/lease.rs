//! Exactly-once dialing: an attempt is written DIALING before anyone calls, and a dialer
//! must hold the attempt's lease to place its call (each attempt of a ring-all step has its
//! own lease).
//!
//! Whoever wants to place a call first saves a claim (a conditional write on the
//! escalation's version): of two dialers racing for the same attempt, one wins the write
//! and the other sees the lease, so the call is placed once. A dialer that dies leaves the
//! lease to expire; then the sweeper (or a redelivered event) may claim the attempt, and
//! because the attempt was claimed before, it first looks for a call the dead dialer may
//! have placed.

use super::{Attempt, Escalation, Ignored, Phase};
use crate::model::ExecutionSid;

/// How long a dialer holds an attempt: nobody else places that call meanwhile. It must
/// outlast [`CREATE_BUDGET_MS`] (a request still in flight when the lease runs out could
/// ring the phone a second time) and is what a crashed dialer costs: its call is placed
/// this much later, by the sweeper.
pub const DIAL_LEASE_MS: u64 = 30_000;

/// Placing a call, retries included, is given up after this long (the lease is released
/// and the attempt left for the next try).
pub const CREATE_BUDGET_MS: u64 = 20_000;

/// A DIALING attempt older than this, found by a redelivered (stale) event, was abandoned
/// by a crashed invocation and is placed; a younger one is being placed by its writer.
pub const REDRIVE_AFTER_MS: u64 = 2_000;

/// Whether the current attempt's call should be placed now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DialDue {
    /// No attempt waits to be dialled (none, or its call is placed).
    Nothing,
    /// The attempt waits for busy people until later.
    Waiting,
    /// Another dialer holds the attempt.
    Leased,
    /// Place it.
    Now(Box<Attempt>),
}

impl Escalation {
    /// Whether to place a call now: the first attempt in flight that waits to be dialled
    /// (several in a ring-all step). `now` for its busy wait, `lease_now` (the dialer's own
    /// clock) for another dialer's lease.
    pub fn dial_due(&self, now: u64, lease_now: u64) -> DialDue {
        let mut due = DialDue::Nothing;
        for a in self.in_flight().filter(|a| a.phase == Phase::Dialing) {
            if a.not_before.is_some_and(|t| t > now) {
                due = DialDue::Waiting;
            } else if a.is_leased(lease_now) {
                if due == DialDue::Nothing {
                    due = DialDue::Leased;
                }
            } else {
                return DialDue::Now(Box::new(a.clone()));
            }
        }
        due
    }

    /// A DIALING attempt that its writer abandoned (older than [`REDRIVE_AFTER_MS`]).
    pub fn has_abandoned_dial(&self, now: u64) -> bool {
        self.in_flight().any(|a| {
            a.phase == Phase::Dialing && now.saturating_sub(a.started_at) >= REDRIVE_AFTER_MS
        })
    }

    /// Whether an earlier dialer claimed attempt `attempt` and may have placed its call.
    pub fn claimed_before(&self, attempt: u32) -> bool {
        self.attempt(attempt).is_some_and(|a| a.dial_claims > 1)
    }

    /// Take the right to place the current attempt's call for `lease_ms`. Refused when the
    /// attempt is not the current one, is no longer DIALING, or someone else's lease has
    /// not expired.
    pub fn claim_dial(&mut self, attempt: u32, now: u64, lease_ms: u64) -> Result<u64, Ignored> {
        let current = self.live_attempt(attempt)?;
        if current.phase != Phase::Dialing {
            return Err(Ignored::NotDialing { attempt });
        }
        if let Some(until) = current.dial_lease_until.filter(|u| *u > now) {
            return Err(Ignored::Leased { attempt, until });
        }
        let until = now + lease_ms;
        current.dial_lease_until = Some(until);
        current.dial_claims += 1;
        self.s.updated_at = now;
        Ok(until)
    }

    /// Give a lease back (the dialer failed before a call was placed), so the next try
    /// need not wait for it to expire. Only the holder's own lease is released.
    pub fn release_dial(&mut self, attempt: u32, until: u64) -> bool {
        let held = self
            .s
            .current
            .iter_mut()
            .chain(self.s.ring.iter_mut())
            .find(|a| {
                a.number == attempt
                    && a.phase == Phase::Dialing
                    && a.dial_lease_until == Some(until)
            });
        match held {
            Some(a) => {
                a.dial_lease_until = None;
                true
            }
            None => false,
        }
    }

    /// Record the placed call's execution SID (DIALING → CALLING). Idempotent for the
    /// same SID.
    pub fn record_execution(
        &mut self,
        attempt: u32,
        sid: &ExecutionSid,
        now: u64,
    ) -> Result<(), Ignored> {
        let current = self.live_attempt(attempt)?;
        if let Some(existing) = &current.execution_sid
            && existing != sid
        {
            return Err(Ignored::OtherExecution {
                event_sid: sid.to_string(),
                current_sid: existing.to_string(),
            });
        }
        current.execution_sid = Some(sid.clone());
        current.phase = Phase::Calling;
        current.dial_lease_until = None;
        self.s.updated_at = now;
        Ok(())
    }
}
