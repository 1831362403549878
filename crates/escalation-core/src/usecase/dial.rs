//! Dial: place the current attempt's call exactly once.
//!
//! The attempt was written DIALING before this runs, so a crash leaves a trace to resume
//! from. The dialer waits for a slot under the call rate, claims the attempt's lease
//! (nobody else dials it meanwhile), looks for a call an earlier dead dialer may have
//! placed, places the call, and records it. A call that cannot be placed (the person is on
//! another escalation's call, the number is unreachable) ends the attempt at once and the
//! walk moves on, up to [`MAX_SKIPS_PER_DIAL`] people in one go.
//!
//! The lease (30 s) covers every create it guards: no create starts later than the lease's
//! end minus the create budget (20 s), and a lease is never given back after a create whose
//! outcome is unknown.

use super::both::both;
use super::bundle::Bundled;
use super::{Engine, EngineError};
use crate::escalation::{Attempt, CREATE_BUDGET_MS, DIAL_LEASE_MS, DialDue, Next};
use crate::model::{CallOutcome, ExecutionSid};
use crate::ports::{DialRequest, DialResult, Metric, Stored, TelephonyError, TelephonyErrorKind};

/// How the call being recorded came to be known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Found {
    /// This dialer placed it.
    Placed,
    /// Found again: a 409 for our own call, or an earlier dialer's call. For an attempt
    /// that waited in a bundle it may be about other incidents too.
    Again,
}

/// A dial loop never runs away: at most this many un-placed calls are skipped in one go.
const MAX_SKIPS_PER_DIAL: usize = 64;

impl Engine {
    /// Place the call a [`DialRequest`] asks for, if that attempt of that escalation is
    /// still due (a request that arrives late, twice, or after the escalation moved on
    /// places nothing). `None`: no such escalation.
    pub async fn dial_requested(&self, req: &DialRequest) -> Result<Option<Stored>, EngineError> {
        let Some(stored) = self.ports.repo.load(&req.sys_id).await? else {
            tracing::warn!(sys_id = %req.sys_id, escalation_id = %req.escalation_id,
                "dial requested for an incident with no escalation; nothing to call");
            return Ok(None);
        };
        let esc = &stored.escalation;
        let current = esc.current().map(|a| a.number);
        if esc.id() != &req.escalation_id || current != Some(req.attempt) {
            tracing::info!(escalation_id = %esc.id(), requested = %req.escalation_id,
                attempt = req.attempt, ?current, "dial request no longer current; placing nothing");
            return Ok(Some(stored));
        }
        self.bundle_not_yet(&stored).await?;
        self.dial(stored).await.map(Some)
    }

    /// The first call of a new escalation, or of one whose first call was never placed:
    /// handed to the dial queue when the engine has one (the caller answers at once),
    /// otherwise placed here.
    ///
    /// The "started" note and the dial request are sent at the same time, both after the
    /// escalation is stored, and both finish before the caller answers: the answer waits
    /// for one send, not two in a row. Neither can be lost by the other's failure: an error
    /// from either is returned (the caller answers 503 and ServiceNow sends again, which
    /// finds the escalation and queues both again, deduplicated), the dialer queues the
    /// note again before it places the call (same key, written once), so the note is on its
    /// way before anyone is called, and the sweeper places a first call that no request
    /// reached.
    pub(super) async fn first_call(&self, stored: Stored) -> Result<Stored, EngineError> {
        let Some(dials) = &self.dials else {
            return self.dial(stored).await;
        };
        let esc = &stored.escalation;
        let note = [esc.started_note()];
        let request = esc.current().map(|attempt| DialRequest {
            sys_id: esc.incident().sys_id.clone(),
            escalation_id: esc.id().clone(),
            attempt: attempt.number,
        });
        let dial = async {
            match &request {
                Some(r) => dials.request(r).await,
                None => Ok(()),
            }
        };
        let (noted, dialled) = both(self.ports.outbox.enqueue(&note), dial).await;
        noted?;
        dialled?;
        Ok(stored)
    }

    /// Place the call for the current attempt if it is still DIALING. An attempt waiting
    /// for busy people is left for the sweeper; one that another dialer holds is left to
    /// that dialer. Every time the dialer needs is read from the clock when it needs it: a
    /// lease is stamped with the moment it is taken, however long the caller took to get
    /// here.
    pub async fn dial(&self, mut stored: Stored) -> Result<Stored, EngineError> {
        let clock = || self.now();
        for _ in 0..MAX_SKIPS_PER_DIAL {
            let now = clock();
            let DialDue::Now(attempt) = stored.escalation.dial_due(now, now) else {
                return Ok(stored);
            };
            let n = attempt.number;
            // The first call is the moment the "started" note must be on its way: queued
            // again by whoever places it (same key, so written once), it cannot be lost
            // when the step that stored the escalation failed before queueing it.
            if n == 1 {
                self.ports
                    .outbox
                    .enqueue(&[stored.escalation.started_note()])
                    .await?;
            }
            // With bundling, the call may wait for others to the same person, or be
            // placed here with theirs.
            // (On the heap: the bundle's steps are a large future, and most calls skip it.)
            stored = match Box::pin(self.bundle(stored, &attempt)).await? {
                Bundled::Alone(s) => s,
                Bundled::Handled(s) => return Ok(s),
            };
            // The rate-limit wait comes before the claim, so the lease covers the request.
            self.ports.dialer.reserve().await?;
            let until = match self
                .commit(stored, |e| e.claim_dial(n, clock(), DIAL_LEASE_MS))
                .await?
            {
                Ok((s, until)) => {
                    stored = s;
                    until
                }
                Err((s, reason)) => {
                    tracing::info!(escalation_id = %s.escalation.id(), attempt = n,
                        %reason, "not placing this call: another invocation has it");
                    return Ok(s);
                }
            };
            let call = stored.escalation.call_request(&attempt);
            let to = attempt.person.phone.masked();
            match self.earlier_call(&stored, &attempt).await {
                Ok(Some(sid)) => {
                    stored = self
                        .record_execution(stored, n, &sid, clock(), Found::Again)
                        .await?;
                    continue;
                }
                Ok(None) => {}
                Err(e) => return Err(self.give_up(stored, n, until, e).await),
            }
            // The lease must cover the whole create: one that might still be in flight when
            // the lease runs out could meet a second dialer's create.
            if clock() + CREATE_BUDGET_MS > until {
                tracing::warn!(escalation_id = %call.escalation_id, attempt = n,
                    "too little of the dial lease is left to place the call; left for the next try");
                let late = TelephonyError {
                    kind: TelephonyErrorKind::Unavailable,
                    message: "the dial lease ran short before the call could be placed".into(),
                };
                return Err(self.give_up(stored, n, until, late).await);
            }
            let outcome = match self.ports.dialer.place(&call).await {
                // The next attempt of a ring-all step, if any, is placed on the next turn.
                Ok(DialResult::Placed(sid)) => {
                    stored = self
                        .record_execution(stored, n, &sid, clock(), Found::Placed)
                        .await?;
                    continue;
                }
                Ok(DialResult::AlreadyOurs(sid)) => {
                    tracing::info!(escalation_id = %call.escalation_id, execution = %sid,
                        "adopting our own active execution (409)");
                    stored = self
                        .record_execution(stored, n, &sid, clock(), Found::Again)
                        .await?;
                    continue;
                }
                Ok(DialResult::OnAnotherCall) => {
                    tracing::warn!(escalation_id = %call.escalation_id, to = %to,
                        "agent is on another escalation's call (409)");
                    CallOutcome::OnAnotherCall
                }
                Ok(DialResult::Unreachable(why)) => {
                    tracing::error!(escalation_id = %call.escalation_id, to = %to, error = %why,
                        "Twilio refused the call");
                    CallOutcome::Unreachable(why)
                }
                Err(e) => return Err(self.give_up(stored, n, until, e).await),
            };
            match self
                .commit(stored, |e| {
                    e.on_call_ended(n, None, outcome.clone(), clock())
                })
                .await?
            {
                Ok((s, t)) => {
                    self.observe(&s.escalation, &t);
                    stored = s;
                    if let Next::Done(status) = t.next {
                        tracing::warn!(escalation_id = %stored.escalation.id(), ?status,
                            "escalation finished without a call");
                        return Ok(stored);
                    }
                }
                Err((s, _)) => return Ok(s),
            }
        }
        Err(EngineError::Contention)
    }

    /// Someone claimed attempt `attempt` before us and never recorded a call: they may
    /// have died after it was placed. The call the telephony side has for it, if any
    /// (a bundle call counts for each of its members).
    pub(super) async fn earlier_call(
        &self,
        stored: &Stored,
        attempt: &Attempt,
    ) -> Result<Option<ExecutionSid>, TelephonyError> {
        if !stored.escalation.claimed_before(attempt.number) {
            return Ok(None);
        }
        let call = stored.escalation.call_request(attempt);
        let sid = self.ports.dialer.find_placed(&call).await?;
        if let Some(sid) = &sid {
            tracing::warn!(escalation_id = %call.escalation_id, attempt = attempt.number,
                execution = %sid, to = %attempt.person.phone.masked(),
                "adopting the execution an earlier dialer created but never recorded");
        }
        Ok(sid)
    }

    /// Placing the call failed while we held the lease: count it and, if no call can have
    /// been placed, give the lease back, so the retry (redelivery, the trigger's next
    /// request, the sweeper) need not wait for it to run out (best effort). After a create
    /// whose outcome is unknown the lease is kept: the call may exist, and the next dialer,
    /// once the lease has run out, looks for it before calling.
    pub(super) async fn give_up(
        &self,
        stored: Stored,
        attempt: u32,
        until: u64,
        e: TelephonyError,
    ) -> EngineError {
        self.ports.metrics.count("engine", Metric::TwilioErrors, 1);
        self.ports
            .metrics
            .incident(stored.escalation.incident(), &[(Metric::DialFailures, 1.0)]);
        if e.kind == TelephonyErrorKind::OutcomeUnknown {
            tracing::warn!(escalation_id = %stored.escalation.id(), attempt, error = %e,
                "the create may have reached the telephony side; the lease is kept until it runs out");
            return e.into();
        }
        let id = stored.escalation.id().clone();
        let released = self
            .commit(stored, |esc| {
                if esc.release_dial(attempt, until) {
                    Ok(())
                } else {
                    Err(crate::escalation::Ignored::Leased { attempt, until })
                }
            })
            .await;
        if let Err(err) = released {
            tracing::warn!(escalation_id = %id, error = %err,
                "could not release the dial lease; the attempt is retried when it runs out");
        }
        e.into()
    }

    pub(super) async fn record_execution(
        &self,
        stored: Stored,
        attempt: u32,
        sid: &ExecutionSid,
        now: u64,
        found: Found,
    ) -> Result<Stored, EngineError> {
        // A call found again for an attempt that waited in a bundle may be other
        // incidents' call too.
        let shared = found == Found::Again
            && stored
                .escalation
                .attempt(attempt)
                .is_some_and(|a| a.bundle.is_some());
        match self
            .commit(stored, |e| match found {
                Found::Placed => e.record_execution(attempt, sid, now),
                Found::Again => e.adopt_execution(attempt, sid, now),
            })
            .await?
        {
            Ok((stored, ())) => {
                let esc = &stored.escalation;
                let to = esc.attempt(attempt).map(|a| a.person.phone.masked());
                tracing::info!(escalation_id = %esc.id(), incident = %esc.incident().number, attempt,
                    to = to.as_deref().unwrap_or("-"), execution = %sid, "call placed");
                Ok(stored)
            }
            Err((stored, ignored)) => {
                // The escalation moved on while we dialled (e.g. the call already ended and
                // was processed). Don't leave a stray call ringing.
                tracing::warn!(escalation_id = %stored.escalation.id(), execution = %sid, reason = %ignored,
                    "execution created for an attempt that is no longer current; hanging it up");
                let ours = stored
                    .escalation
                    .attempt(attempt)
                    .and_then(|a| a.execution_sid.as_ref());
                // A call that may be other incidents' too is left to them.
                if ours != Some(sid)
                    && !shared
                    && let Err(e) = self.ports.dialer.hang_up(sid).await
                {
                    tracing::warn!(execution = %sid, error = %e, "could not hang up the stray call");
                    self.ports
                        .metrics
                        .count("engine", Metric::HangUpFailures, 1);
                }
                Ok(stored)
            }
        }
    }
}
