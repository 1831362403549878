//! Cancel: the incident was handled in ServiceNow by someone else while we were calling
//! about it (assigned, resolved, closed, canceled, or lowered below the escalating
//! priorities). The escalation ends, the ringing call is to be hung up, nobody else is
//! called, and a note says why.

use super::{Escalation, Ignored, Status};
use crate::model::ExecutionSid;
use crate::notes;
use crate::update::IncidentUpdate;
use serde::{Deserialize, Serialize};

/// What happened to the incident in ServiceNow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    Assigned,
    Resolved,
    Closed,
    Canceled,
    PriorityLowered,
}

impl CancelReason {
    /// The word the instance sends.
    pub fn parse(s: &str) -> Option<CancelReason> {
        Some(match s {
            "assigned" => CancelReason::Assigned,
            "resolved" => CancelReason::Resolved,
            "closed" => CancelReason::Closed,
            "canceled" | "cancelled" => CancelReason::Canceled,
            "priority_lowered" => CancelReason::PriorityLowered,
            _ => return None,
        })
    }
}

/// Why an escalation was cancelled, as ServiceNow told us.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancel {
    pub reason: CancelReason,
    /// Whom it was assigned to, or the priority it was lowered to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Who changed the incident.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    pub at: u64,
}

/// A cancellation that was applied: the note, and the call to hang up if one was placed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cancellation {
    pub update: IncidentUpdate,
    pub hang_up: Option<ExecutionSid>,
    /// Whose call that was (every name, when a ring-all step was ringing).
    pub ringing: Option<String>,
    /// The other calls of a ring-all step in flight: hung up too.
    pub more: Vec<super::HangUp>,
}

impl Escalation {
    /// End the escalation because the incident was handled elsewhere. The current call (if
    /// one was placed) is returned to be hung up; a finished escalation is left alone.
    pub fn cancel(&mut self, cancel: Cancel) -> Result<Cancellation, Ignored> {
        if self.s.status.is_terminal() {
            return Err(Ignored::Finished(self.s.status));
        }
        let (hang_up, ringing, more) = self.end_in_flight();
        self.s.status = Status::Cancelled;
        self.s.updated_at = cancel.at;
        let note = notes::cancelled(self.s.id.as_str(), &cancel, ringing.as_deref());
        self.s.cancelled = Some(cancel);
        Ok(Cancellation {
            update: self.update("cancelled", note),
            hang_up,
            ringing,
            more,
        })
    }

    /// Why the escalation was cancelled, if it was.
    pub fn cancelled(&self) -> Option<&Cancel> {
        self.s.cancelled.as_ref()
    }
}
