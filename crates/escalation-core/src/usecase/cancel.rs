//! Cancel: ServiceNow says the incident under escalation was handled by someone else. The
//! escalation ends (one conditional write: a call that ends at the same moment either
//! lands first and is applied, or finds the escalation cancelled and is ignored), the
//! note is queued, and the ringing call is hung up. Nothing is dialled afterwards: the
//! sweeper only looks at active escalations, and every later event finds it finished.
//! An escalation that had already ended with nobody accepting keeps its status, but the
//! texts sent after its last calls are withdrawn: a late reply 1 must not take the incident
//! from whoever took it in ServiceNow.

use super::{Engine, EngineError};
use crate::escalation::{Cancel, Status};
use crate::model::SysId;
use crate::ports::{HangUpOutcome, Metric, Stored};

/// What became of a cancel.
#[derive(Debug, Clone, PartialEq)]
pub enum CancelResult {
    /// The escalation is cancelled now; `hung_up`: whose ringing or live call was hung up
    /// (`None`: no call was running, or hanging it up failed).
    Cancelled {
        stored: Stored,
        hung_up: Option<String>,
    },
    /// It had already ended (accepted, exhausted, or cancelled before): nothing changed.
    AlreadyFinished(Stored),
    /// The incident has no escalation.
    NoEscalation,
}

impl Engine {
    pub async fn cancel(
        &self,
        sys_id: &SysId,
        cancel: Cancel,
    ) -> Result<CancelResult, EngineError> {
        let Some(stored) = self.ports.repo.load(sys_id).await? else {
            return Ok(CancelResult::NoEscalation);
        };
        let (stored, done) = match self.commit(stored, |e| e.cancel(cancel.clone())).await? {
            Err((stored, _)) => {
                self.withdraw_texts(&stored).await?;
                return Ok(CancelResult::AlreadyFinished(stored));
            }
            Ok(applied) => applied,
        };
        let esc = &stored.escalation;
        tracing::info!(escalation_id = %esc.id(), incident = %esc.incident().number,
            reason = ?cancel.reason, "escalation cancelled from ServiceNow");
        self.ports
            .metrics
            .incident(esc.incident(), &[(Metric::Cancelled, 1.0)]);
        let mut hung_up = None;
        if let Some(sid) = &done.hang_up {
            match self.ports.dialer.hang_up(sid).await {
                Ok(HangUpOutcome::HungUp) => hung_up = done.ringing.clone(),
                Ok(HangUpOutcome::NoCall) => {
                    tracing::info!(escalation_id = %esc.id(), execution = %sid,
                        "the call had already ended; its execution is ended");
                }
                Err(e) => {
                    // The escalation stays cancelled: a key pressed on that call is ignored.
                    tracing::warn!(escalation_id = %esc.id(), execution = %sid, error = %e,
                        "could not hang up the ringing call");
                    self.ports
                        .metrics
                        .count("engine", Metric::HangUpFailures, 1);
                }
            }
        }
        self.hang_up_calls(esc.id(), &done.more).await;
        debug_assert_eq!(esc.status(), Status::Cancelled);
        Ok(CancelResult::Cancelled { stored, hung_up })
    }

    /// Close the open text offers of an exhausted escalation (each person of its lineup
    /// may hold one); a reply after this is answered "no open request".
    async fn withdraw_texts(&self, stored: &Stored) -> Result<(), EngineError> {
        let esc = &stored.escalation;
        let Some(sms) = self
            .sms
            .as_ref()
            .filter(|_| esc.status() == Status::Exhausted)
        else {
            return Ok(());
        };
        for person in esc.roster().people().filter(|p| p.sms_when_unanswered) {
            sms.offers.close(&person.phone, esc.id()).await?;
        }
        tracing::info!(escalation_id = %esc.id(), incident = %esc.incident().number,
            "incident handled in ServiceNow after the escalation ended: texts withdrawn");
        Ok(())
    }
}
