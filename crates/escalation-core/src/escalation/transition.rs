//! Applying the end of a call: record it, then accept, redial, move on, wait for busy
//! people, start another round, or give up.

use super::{AttemptRecord, Escalation, Ignored, Next, Slot, Status, Transition};
use crate::model::{CallOutcome, ExecutionSid};
use crate::notes;
use crate::update::IncidentState;

impl Escalation {
    /// Apply the end of a call. `attempt` and `execution_sid` identify the call (from the
    /// call's parameters and the event); anything not about the current call is ignored.
    pub fn on_call_ended(
        &mut self,
        attempt: u32,
        execution_sid: Option<&ExecutionSid>,
        outcome: CallOutcome,
        now: u64,
    ) -> Result<Transition, Ignored> {
        if self.s.status.is_terminal() {
            return Err(Ignored::Finished(self.s.status));
        }
        let current = match self.attempt(attempt) {
            Some(a) => a.clone(),
            None => {
                return Err(Ignored::NotCurrent {
                    event_attempt: attempt,
                    current: self.current().map(|a| a.number),
                });
            }
        };
        if let (Some(ours), Some(theirs)) = (&current.execution_sid, execution_sid)
            && ours != theirs
        {
            return Err(Ignored::OtherExecution {
                event_sid: theirs.to_string(),
                current_sid: ours.to_string(),
            });
        }
        let sid = current.execution_sid.clone().or(execution_sid.cloned());
        self.s.history.push(AttemptRecord {
            number: current.number,
            list: current.list,
            name: current.person.name.clone(),
            masked_phone: current.person.phone.masked(),
            execution_sid: sid.as_ref().map(ExecutionSid::to_string),
            outcome: outcome.clone(),
            started_at: current.started_at,
            ended_at: now,
        });
        self.take_in_flight(current.number);
        self.s.updated_at = now;
        let key = format!("attempt:{}", current.number);
        let mut note = notes::attempt(&notes::CallFacts {
            escalation_id: self.s.id.as_str(),
            attempt: current.number,
            list: current.list,
            person: &current.person,
            outcome: &outcome,
            execution_sid: sid.as_ref().map(ExecutionSid::as_str),
            duration_ms: now.saturating_sub(current.started_at),
        });
        if let Some(tag) = current.bundle.as_ref().filter(|t| t.is_shared()) {
            note.push_str(&notes::bundled(&tag.id, &tag.incidents));
        }

        if outcome == CallOutcome::Accepted {
            self.s.status = Status::Accepted;
            self.s.accepted_by = Some(current.person.name.clone());
            note.push_str(&notes::accepted(
                &current.person.name,
                now,
                now.saturating_sub(self.s.created_at),
            ));
            let hang_up = self.hang_up_the_rest(&current.person.name, now);
            if !hang_up.is_empty() {
                let names: Vec<&str> = hang_up.iter().map(|h| h.person.as_str()).collect();
                note.push_str(&notes::ring_hung_up(&names));
            }
            let mut update = self.update(&key, note);
            update.state = Some(IncidentState::InProgress);
            update.assign_to = current.person.sn_user.clone();
            return Ok(Transition {
                next: Next::Done(Status::Accepted),
                update,
                hang_up,
            });
        }

        if outcome == CallOutcome::OnAnotherCall {
            self.s.busy.push(Slot {
                list: current.list,
                position: current.position,
            });
        }
        if current.ring > 0 && self.current().is_some() {
            // Others of the step still ring: the step's outcome waits for them.
            let still: Vec<&str> = self.in_flight().map(|a| a.person.name.as_str()).collect();
            note.push_str(&notes::ring_waits(&still));
            return Ok(Transition {
                next: Next::Wait,
                update: self.update(&key, note),
                hang_up: Vec::new(),
            });
        }
        let (escalated, unanswered) = if current.ring > 0 {
            let step = self.step_outcome(current.ring);
            (step.escalated, step.unanswered)
        } else {
            (outcome == CallOutcome::Escalated, outcome.allows_redial())
        };
        let redial = unanswered
            && self.s.cursor.redials < current.person.redials.unwrap_or(self.s.policy.max_redials);
        if redial {
            self.s.cursor.redials += 1;
        } else {
            self.s.cursor.redials = 0;
            let ring = current.ring.max(1);
            let marked = self.s.roster.escalation.iter().any(|p| p.escalation_step);
            let in_escalation = current.list == crate::model::ListKind::Escalation;
            match escalated {
                // From inside the escalation list without marked steps digit 3 moves on
                // by one step, like a pass.
                true if ring > 1 && in_escalation && !marked => self.advance_past(ring),
                true => self.escalate(),
                false => self.advance_past(ring),
            }
        }

        let mut not_before = None;
        if self.walk_exhausted() {
            if let Some(busy) = self.start_busy_pass() {
                // Some people could not be called because they were on another escalation's
                // call: wait, then try just them again before giving up.
                let p = &self.s.policy;
                note.push_str(&notes::busy_retry(
                    busy,
                    p.busy_retry_secs,
                    self.s.busy_retries,
                    p.max_busy_retries,
                ));
                not_before = Some(now + u64::from(p.busy_retry_secs) * 1000);
            } else if self.s.cursor.round + 1 < self.s.policy.rounds {
                self.next_round();
            } else {
                self.s.status = Status::Exhausted;
                let people = self.s.roster.agents.len() + self.s.roster.escalation.len();
                note.push_str(&notes::exhausted(
                    self.s.history.len(),
                    people,
                    self.s.policy.rounds,
                    self.s.policy.fallback_group.as_deref(),
                ));
                let mut update = self.update(&key, note);
                update.assignment_group = self.s.policy.fallback_group.clone();
                return Ok(Transition {
                    next: Next::Done(Status::Exhausted),
                    update,
                    hang_up: Vec::new(),
                });
            }
        }

        self.begin_attempt(now, not_before);
        let next = self.current().expect("attempt just begun");
        let ringing: Vec<&crate::model::Person> = self.in_flight().map(|a| &a.person).collect();
        note.push_str(&if ringing.len() > 1 {
            notes::ring_all(&ringing)
        } else if redial {
            notes::redial(&next.person.name, self.s.cursor.redials)
        } else {
            notes::next(next.list, &next.person)
        });
        Ok(Transition {
            next: Next::Dial,
            update: self.update(&key, note),
            hang_up: Vec::new(),
        })
    }
}
