//! Bundling, the use case: one call for several incidents that wait for the same person
//! (the rules are in [`crate::bundle`]).
//!
//! A first call that is due opens a bundle for the person's number and waits for the
//! window; its dial request comes back when the window ends. Any call to that person that
//! falls due meanwhile joins the bundle and waits. The request that closes the bundle
//! claims every member's dial lease (exactly-once, as for any call), places one call about
//! all of them, and records it on each. A bundle left with one member is an ordinary call,
//! so a lone incident is delayed by the window and no more. The member that fills a bundle
//! closes it at once (in a storm the next incidents open the next bundle rather than wait
//! for the window to end). A member that could not be
//! claimed (it moved on, or its store failed) is not lost: its wait ends shortly after the
//! window and the sweeper places its call alone.

use super::{Engine, EngineError};
use crate::bundle::{
    Bundle, BundleSettings, BundleStore, BundleTag, Close, JOIN_SLACK_MS, Join, MAX_BUNDLE, Member,
};
use crate::escalation::{Attempt, DialDue, Phase};
use crate::ports::{DialQueue, DialRequest, RepoError, Stored};
use std::sync::Arc;

/// Conditional writes of a bundle tried before giving up with [`EngineError::Contention`]
/// (the request is then delivered again). Every dialer in a storm joins the same person's
/// bundle: of those racing, one write wins each round.
const MAX_BUNDLE_WRITES: usize = 20;

/// What bundling needs: where bundles are kept, the dial queue that brings a bundle's
/// opener back when the window ends, and the window.
#[derive(Clone)]
pub struct BundleParts {
    pub store: Arc<dyn BundleStore>,
    pub queue: Arc<dyn DialQueue>,
    pub settings: BundleSettings,
}

/// What bundling made of a call that is due.
pub(super) enum Bundled {
    /// Place it as an ordinary call.
    Alone(Stored),
    /// Nothing more to place now: it waits in a bundle, or its bundle call was placed.
    Handled(Stored),
}

impl Engine {
    /// This engine gathers the calls due to one person into bundles (see the module's
    /// comment).
    pub fn with_bundles(mut self, parts: BundleParts) -> Engine {
        self.bundles = Some(parts);
        self
    }

    /// Called for an attempt that is due to be dialled: open or join its person's bundle,
    /// or (the bundle's window over) close it and place its call.
    pub(super) async fn bundle(
        &self,
        stored: Stored,
        attempt: &Attempt,
    ) -> Result<Bundled, EngineError> {
        let Some(parts) = &self.bundles else {
            return Ok(Bundled::Alone(stored));
        };
        // A ring-all step rings several people for one incident: never bundled.
        if attempt.ring > 0 {
            return Ok(Bundled::Alone(stored));
        }
        match &attempt.bundle {
            None => self.join_bundle(parts, stored, attempt).await,
            Some(tag) => self.close_bundle(parts, stored, attempt, tag).await,
        }
    }

    /// A dial request for a bundle's opener that came before the window ended (it was sent
    /// again after a failure): sent back for the rest of the window.
    pub(super) async fn bundle_not_yet(&self, stored: &Stored) -> Result<(), EngineError> {
        let Some(parts) = &self.bundles else {
            return Ok(());
        };
        let now = self.now();
        if stored.escalation.dial_due(now, now) != DialDue::Waiting {
            return Ok(());
        }
        let opener = stored
            .escalation
            .in_flight()
            .find(|a| a.phase == Phase::Dialing && a.bundle.as_ref().is_some_and(|t| t.opener));
        if let Some(a) = opener
            && let Some(until) = a.not_before
        {
            request_close(parts, &stored.escalation, a.number, until, now).await?;
        }
        Ok(())
    }

    async fn join_bundle(
        &self,
        parts: &BundleParts,
        stored: Stored,
        attempt: &Attempt,
    ) -> Result<Bundled, EngineError> {
        let esc = &stored.escalation;
        let member = Member {
            sys_id: esc.incident().sys_id.clone(),
            escalation_id: esc.id().clone(),
            attempt: attempt.number,
        };
        let phone = &attempt.person.phone;
        for _ in 0..MAX_BUNDLE_WRITES {
            let now = self.now();
            let held = parts.store.load(phone).await?;
            let version = held.as_ref().map_or(0, |h| h.version);
            let join = Bundle::join(
                held.as_ref().map(|h| &h.bundle),
                phone,
                &member,
                now,
                &parts.settings,
            );
            let (mut bundle, opener, write) = match join {
                Join::Alone => return Ok(Bundled::Alone(stored)),
                // Only a first call opens a bundle (and waits for the window): later calls
                // of a walk join one that is open, and are placed at once otherwise.
                Join::Open(_) if attempt.number != 1 => return Ok(Bundled::Alone(stored)),
                // A retry that finds itself a member already: nothing to write.
                Join::Member { bundle, opener } => (bundle, opener, false),
                Join::Open(bundle) => (bundle, true, true),
                Join::Add(bundle) => (bundle, false, true),
            };
            // The member that fills the bundle closes it in the same write and places its
            // call at once: nobody finds it full and open (and goes alone), and the
            // incidents after it open the next bundle.
            let full = bundle.members.len() >= parts.settings.max_size.min(MAX_BUNDLE);
            let fills = write && !opener && full;
            if fills {
                bundle.closed_at = Some(now);
            }
            if write {
                match parts.store.save(&bundle, version).await {
                    Ok(()) => {}
                    Err(RepoError::Conflict { .. }) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            let waiting = self
                .wait_in_bundle(parts, stored, attempt.number, &bundle, opener)
                .await?;
            let Bundled::Handled(stored) = waiting else {
                return Ok(waiting);
            };
            let Some(mine) = stored.escalation.attempt(attempt.number).cloned() else {
                return Ok(Bundled::Handled(stored));
            };
            return match &mine.bundle {
                Some(_) if fills => {
                    let stored = self.place_bundle(stored, &mine, &bundle).await?;
                    Ok(Bundled::Handled(stored))
                }
                // A retry that finds its bundle full and still open closes it.
                Some(tag) if full && bundle.closed_at.is_none() => {
                    let tag = tag.clone();
                    self.close_bundle(parts, stored, &mine, &tag).await
                }
                _ => Ok(Bundled::Handled(stored)),
            };
        }
        Err(EngineError::Contention)
    }

    /// Mark the attempt as waiting in `bundle`; its opener's request comes back at the
    /// window's end, a joiner waits a little longer (the opener's call carries it).
    async fn wait_in_bundle(
        &self,
        parts: &BundleParts,
        stored: Stored,
        n: u32,
        bundle: &Bundle,
        opener: bool,
    ) -> Result<Bundled, EngineError> {
        let now = self.now();
        let tag = BundleTag {
            id: bundle.id.clone(),
            opener,
            incidents: Vec::new(),
            found: false,
        };
        let until = if opener {
            bundle.closes_at
        } else {
            bundle.closes_at.max(now) + JOIN_SLACK_MS
        };
        let stored = match self
            .commit(stored, |e| e.await_bundle(n, &tag, until, self.now()))
            .await?
        {
            Ok((s, ())) => s,
            Err((s, reason)) => {
                tracing::info!(escalation_id = %s.escalation.id(), attempt = n, %reason,
                    "not waiting in the bundle: the attempt moved on or another dialer has it");
                return Ok(Bundled::Handled(s));
            }
        };
        if opener {
            request_close(parts, &stored.escalation, n, until, self.now()).await?;
        }
        tracing::info!(escalation_id = %stored.escalation.id(), attempt = n, bundle = %bundle.id,
            members = bundle.members.len(), opener, "waiting in a bundle");
        Ok(Bundled::Handled(stored))
    }

    async fn close_bundle(
        &self,
        parts: &BundleParts,
        stored: Stored,
        attempt: &Attempt,
        tag: &BundleTag,
    ) -> Result<Bundled, EngineError> {
        let phone = &attempt.person.phone;
        for _ in 0..MAX_BUNDLE_WRITES {
            let held = parts.store.load(phone).await?;
            let version = held.as_ref().map_or(0, |h| h.version);
            match Bundle::close(held.as_ref().map(|h| &h.bundle), &tag.id, self.now()) {
                Close::Close(bundle) => match parts.store.save(&bundle, version).await {
                    Ok(()) => {
                        let stored = self.place_bundle(stored, attempt, &bundle).await?;
                        return Ok(Bundled::Handled(stored));
                    }
                    Err(RepoError::Conflict { .. }) => continue,
                    Err(e) => return Err(e.into()),
                },
                // Someone else closed it: they claim this attempt with the others. Whoever of
                // its members is still unclaimed when this runs (its closer died, or could
                // not claim them) is called together now; the leases keep each to one call.
                Close::Already { .. } => {
                    let Some(held) = held else {
                        return Ok(Bundled::Alone(stored));
                    };
                    let stored = self.place_bundle(stored, attempt, &held.bundle).await?;
                    return Ok(Bundled::Handled(stored));
                }
                // Replaced by another bundle: this call goes alone if nobody claimed it.
                Close::Gone => return Ok(Bundled::Alone(stored)),
            }
        }
        Err(EngineError::Contention)
    }
}

/// Bring the opener's dial request back when the window ends.
async fn request_close(
    parts: &BundleParts,
    esc: &crate::escalation::Escalation,
    n: u32,
    until: u64,
    now: u64,
) -> Result<(), EngineError> {
    let dial = DialRequest {
        sys_id: esc.incident().sys_id.clone(),
        escalation_id: esc.id().clone(),
        attempt: n,
    };
    let delay = until.saturating_sub(now).div_ceil(1000).min(900) as u32;
    parts.queue.request_after(&dial, delay).await?;
    Ok(())
}
