//! Who is next. Agents and the escalation list have separate positions (indexing one list
//! with the other's position would skip or repeat people). Digit 2 and unanswered calls
//! move to the next person, from the last agent on to the escalation list; digit 3 jumps to
//! the escalation list. People on another escalation's call are skipped and, once the walk
//! is over, called again after a wait. Then the whole walk repeats for the policy's rounds.

use super::Escalation;
use crate::model::ListKind;
use serde::{Deserialize, Serialize};

/// Where the walk stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub list: ListKind,
    pub agent_pos: usize,
    pub esc_pos: usize,
    /// 0-based round.
    pub round: u32,
    /// Redials already spent on the current person.
    pub redials: u32,
}

impl Default for Cursor {
    fn default() -> Self {
        Cursor {
            list: ListKind::Agents,
            agent_pos: 0,
            esc_pos: 0,
            round: 0,
            redials: 0,
        }
    }
}

/// A place in the roster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    pub list: ListKind,
    pub position: usize,
}

impl Escalation {
    /// Who the walk points at.
    pub(super) fn slot(&self) -> Slot {
        if let Some(front) = self.s.busy_pass.as_ref().and_then(|p| p.front()) {
            return *front;
        }
        let c = &self.s.cursor;
        Slot {
            list: c.list,
            position: match c.list {
                ListKind::Agents => c.agent_pos,
                ListKind::Escalation => c.esc_pos,
            },
        }
    }

    /// Digit 2 / no answer: the next person; after the last agent, the escalation list.
    pub(super) fn advance(&mut self) {
        if let Some(pass) = &mut self.s.busy_pass {
            pass.pop_front();
            return;
        }
        let c = &mut self.s.cursor;
        match c.list {
            ListKind::Agents => {
                c.agent_pos += 1;
                if c.agent_pos >= self.s.roster.agents.len() {
                    c.list = ListKind::Escalation;
                }
            }
            ListKind::Escalation => c.esc_pos += 1,
        }
    }

    /// Digit 3: the escalation list, at the escalation position; from the escalation list,
    /// the first person of the next policy step marked as an escalation step (when the
    /// roster marks none, the next person). With no escalation list, like digit 2.
    pub(super) fn escalate(&mut self) {
        if self.s.busy_pass.is_some() || self.s.roster.escalation.is_empty() {
            return self.advance();
        }
        let esc = &self.s.roster.escalation;
        let marked = esc.iter().any(|p| p.escalation_step);
        let c = &mut self.s.cursor;
        match c.list {
            ListKind::Agents => c.list = ListKind::Escalation,
            ListKind::Escalation if marked => {
                c.esc_pos = (c.esc_pos + 1..esc.len())
                    .find(|&i| esc[i].escalation_step)
                    .unwrap_or(esc.len());
            }
            ListKind::Escalation => c.esc_pos += 1,
        }
    }

    /// Nobody is left to call in this walk.
    pub(super) fn walk_exhausted(&self) -> bool {
        if let Some(pass) = &self.s.busy_pass {
            return pass.is_empty();
        }
        self.s.cursor.list == ListKind::Escalation
            && self.s.cursor.esc_pos >= self.s.roster.escalation.len()
    }

    /// Start the walk over for the next round.
    pub(super) fn next_round(&mut self) {
        self.s.busy.clear();
        self.s.busy_pass = None;
        self.s.cursor = Cursor {
            round: self.s.cursor.round + 1,
            ..Cursor::default()
        };
    }

    /// The walk is over but some people were skipped as busy and may still be retried:
    /// start a pass over just them. Returns how many.
    pub(super) fn start_busy_pass(&mut self) -> Option<usize> {
        if self.s.busy.is_empty() || self.s.busy_retries >= self.s.policy.max_busy_retries {
            return None;
        }
        self.s.busy_retries += 1;
        let pass: std::collections::VecDeque<Slot> = std::mem::take(&mut self.s.busy).into();
        let n = pass.len();
        self.s.busy_pass = Some(pass);
        self.s.cursor.redials = 0;
        Some(n)
    }
}
