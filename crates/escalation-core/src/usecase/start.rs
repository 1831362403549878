//! Start: the escalation of one incident, made durable once, and its first call.

use super::{Engine, EngineError};
use crate::escalation::Escalation;
use crate::model::{EscalationId, Incident};
use crate::ports::{Created, Stored};

impl Engine {
    /// Create the escalation for an incident (or find the existing one: an incident is
    /// escalated once) and place the first call, or hand it to the dial queue (see
    /// [`Engine::with_dial_queue`]). Returns the stored escalation and whether
    /// it is new.
    pub async fn start(&self, incident: Incident) -> Result<(Stored, bool), EngineError> {
        let roster = self.ports.roster.roster_for(&incident).await?;
        // The "started" note goes with the first call (see `dial`): whoever places it queues
        // the note first, so a failure between storing and queueing cannot lose it.
        let (esc, _started) = Escalation::start(
            EscalationId::generate(),
            incident,
            roster,
            self.settings.policy.clone(),
            self.now(),
        );
        match self.ports.repo.create(&esc).await? {
            Created::New(stored) => {
                tracing::info!(escalation_id = %esc.id(), incident = %esc.incident().number, "escalation created");
                Ok((self.first_call(stored).await?, true))
            }
            Created::Existing(stored) => {
                let existing = &stored.escalation;
                tracing::info!(escalation_id = %existing.id(), incident = %existing.incident().number,
                    "escalation already exists for this incident; not calling again");
                // A first call never placed (the telephony side was down when the escalation
                // started): place it now. Safe: the lease and the adoption of an already
                // running call keep it to one call.
                if existing.first_call_pending() {
                    return Ok((self.first_call(stored).await?, false));
                }
                Ok((stored, false))
            }
        }
    }
}
