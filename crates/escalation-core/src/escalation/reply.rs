//! A reply to the text message sent after an unanswered call: a 1 accepts the incident for
//! the person who replied, through the same conditional write as a key press, so the first
//! accept wins whichever way it came. The call ringing meanwhile (the walk went on) is
//! returned to be hung up.

use super::{Escalation, Ignored, Status};
use crate::model::{E164, ExecutionSid};
use crate::notes;
use crate::update::{IncidentState, IncidentUpdate};

/// An accept by text that was applied: the note (state and assignee set), and the call to
/// hang up if one was ringing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyAcceptance {
    pub update: IncidentUpdate,
    pub hang_up: Option<ExecutionSid>,
    /// Whose call that was (every name, when a ring-all step was ringing).
    pub ringing: Option<String>,
    /// The other calls of a ring-all step in flight: hung up too.
    pub more: Vec<super::HangUp>,
}

impl Escalation {
    /// The person with `phone` accepts by replying 1 to the text about their unanswered
    /// call `attempt`. Refused when the escalation is over (someone accepted first, it was
    /// exhausted or cancelled), when `phone` is nobody on the roster, or when `attempt` has
    /// not ended yet.
    pub fn accept_by_reply(
        &mut self,
        attempt: u32,
        phone: &E164,
        now: u64,
    ) -> Result<ReplyAcceptance, Ignored> {
        if self.s.status.is_terminal() {
            return Err(Ignored::Finished(self.s.status));
        }
        let not_current = || Ignored::NotCurrent {
            event_attempt: attempt,
            current: self.current().map(|a| a.number),
        };
        let ended = self.s.history.iter().any(|h| h.number == attempt);
        let person = self
            .s
            .roster
            .agents
            .iter()
            .chain(&self.s.roster.escalation)
            .find(|p| &p.phone == phone)
            .cloned();
        let (true, Some(person)) = (ended, person) else {
            return Err(not_current());
        };
        let (hang_up, ringing, more) = self.end_in_flight();
        self.s.status = Status::Accepted;
        self.s.accepted_by = Some(person.name.clone());
        self.s.updated_at = now;
        let mut note =
            notes::accepted_by_text(self.s.id.as_str(), attempt, &person, ringing.as_deref());
        note.push_str(&notes::accepted(
            &person.name,
            now,
            now.saturating_sub(self.s.created_at),
        ));
        let mut update = self.update(&format!("sms:{attempt}:reply"), note);
        update.state = Some(IncidentState::InProgress);
        update.assign_to = person.sn_user.clone();
        Ok(ReplyAcceptance {
            update,
            hang_up,
            ringing,
            more,
        })
    }
}
