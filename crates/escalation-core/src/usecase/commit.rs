//! The one commit path for state changes, with one conflict policy.
//!
//! A change is applied to the stored escalation and saved with a conditional write on its
//! version. When another invocation saved first, the latest state is loaded and the change
//! applied again; if the change no longer applies there (the call it was about is over,
//! someone else holds the lease), it is refused with the reason and the latest state.
//! An incident update the change implies is queued before the save: if the save then
//! fails, the retry queues the same update again under the same key, and the queue and the
//! updater drop the copy; the other order could lose the note.

use super::{Engine, EngineError};
use crate::escalation::{Cancellation, Escalation, Ignored, Transition};
use crate::ports::{RepoError, Stored};
use crate::update::IncidentUpdate;

/// Attempts to apply one change before giving up with [`EngineError::Contention`].
const MAX_CONFLICT_RETRIES: usize = 5;

/// A change that was saved, or refused by the latest state.
pub(super) type Committed<T> = Result<(Stored, T), (Stored, Ignored)>;

/// What a change may ask to have queued.
pub(super) trait Effects {
    fn update(&self) -> Option<&IncidentUpdate> {
        None
    }
}

impl Effects for () {}
impl Effects for u64 {}
impl Effects for Cancellation {
    fn update(&self) -> Option<&IncidentUpdate> {
        Some(&self.update)
    }
}
impl Effects for Transition {
    fn update(&self) -> Option<&IncidentUpdate> {
        Some(&self.update)
    }
}

impl Engine {
    pub(super) async fn commit<T: Effects>(
        &self,
        mut stored: Stored,
        change: impl Fn(&mut Escalation) -> Result<T, Ignored>,
    ) -> Result<Committed<T>, EngineError> {
        for _ in 0..MAX_CONFLICT_RETRIES {
            let mut next = stored.escalation.clone();
            let value = match change(&mut next) {
                Ok(value) => value,
                Err(ignored) => return Ok(Err((stored, ignored))),
            };
            if let Some(update) = value.update() {
                self.ports
                    .outbox
                    .enqueue(std::slice::from_ref(update))
                    .await?;
            }
            match self.ports.repo.save(&next, stored.version).await {
                Ok(version) => {
                    let saved = Stored {
                        escalation: next,
                        version,
                    };
                    return Ok(Ok((saved, value)));
                }
                Err(RepoError::Conflict { .. }) => {
                    stored = self
                        .ports
                        .repo
                        .load(&next.incident().sys_id)
                        .await?
                        .ok_or(RepoError::Corrupt("escalation vanished".into()))?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(EngineError::Contention)
    }
}
