//! Start: the escalation of one incident, made durable once, and its first call.

use super::{Engine, EngineError};
use crate::escalation::Escalation;
use crate::model::{EscalationId, Incident};
use crate::ports::{Created, LineupError, Metric, Resolved, Stored};
use crate::update::IncidentUpdate;

impl Engine {
    /// Create the escalation for an incident (or find the existing one: an incident is
    /// escalated once) and place the first call, or hand it to the dial queue (see
    /// [`Engine::with_dial_queue`]). Returns the stored escalation and whether
    /// it is new.
    pub async fn start(&self, incident: Incident) -> Result<(Stored, bool), EngineError> {
        let lineup = self.lineup(&incident).await;
        self.start_with(incident, lineup).await
    }

    /// Who would be called for this incident now (a read: policies, on-call). Its own step,
    /// so that a caller can run it at the same time as its own checks (the trigger's replay
    /// mark) and then [`Engine::start_with`] its result.
    pub async fn lineup(&self, incident: &Incident) -> Result<Resolved, LineupError> {
        self.ports.lineups.lineup_for(incident, self.now()).await
    }

    /// [`Engine::start`] with the incident's [`Engine::lineup`] already read.
    pub async fn start_with(
        &self,
        incident: Incident,
        lineup: Result<Resolved, LineupError>,
    ) -> Result<(Stored, bool), EngineError> {
        let now = self.now();
        let resolved = match lineup {
            Ok(r) if !r.roster.agents.is_empty() => r,
            Ok(r) => {
                let why = format!(
                    "{} calls nobody at this time",
                    r.roster.source.as_deref().unwrap_or("the lineup")
                );
                return Err(self.nobody_to_call(&incident, why).await);
            }
            Err(e) => return Err(self.nobody_to_call(&incident, e.to_string()).await),
        };
        let mut policy = self.settings.policy.clone();
        if let Some(rounds) = resolved.rounds {
            policy.rounds = rounds;
        }
        if resolved.fallback_group.is_some() {
            policy.fallback_group = resolved.fallback_group;
        }
        // The "started" note goes with the first call (see `dial`): whoever places it queues
        // the note first, so a failure between storing and queueing cannot lose it.
        let (esc, _started) = Escalation::start(
            EscalationId::generate(),
            incident,
            resolved.roster,
            policy,
            now,
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

    /// Nobody can be called: say so on the incident (once per incident and reason) and
    /// return the error the caller answers with.
    async fn nobody_to_call(&self, incident: &Incident, why: String) -> EngineError {
        tracing::error!(incident = %incident.number, reason = %why, "nobody to call");
        self.ports
            .metrics
            .incident(incident, &[(Metric::NobodyToCall, 1.0)]);
        let note = IncidentUpdate::note(
            format!("{}:nobody-to-call", incident.sys_id),
            incident.sys_id.clone(),
            &incident.number,
            EscalationId::new(""),
            crate::notes::nobody_to_call(incident.group_label(), &why),
        );
        if let Err(e) = self.ports.outbox.enqueue(std::slice::from_ref(&note)).await {
            return EngineError::Outbox(e);
        }
        EngineError::NobodyToCall(why)
    }
}
