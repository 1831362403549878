//! The escalation state machine (DESIGN §3). Pure code: no I/O, time passed in.
//!
//! An [`Escalation`] walks the roster one call at a time. Each call ends with a
//! [`CallOutcome`]; [`Escalation::on_call_ended`] applies it and says what happens next
//! (dial someone, or a terminal status) and which ServiceNow update it implies.

use crate::clock::{format_utc, human_duration};
use crate::roster::{Person, Roster};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListKind {
    Agents,
    Escalation,
}

impl ListKind {
    pub fn label(self) -> &'static str {
        match self {
            ListKind::Agents => "agent",
            ListKind::Escalation => "escalation contact",
        }
    }
}

/// Tunables, fixed at trigger time and stored with the escalation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Redials of the same person after no answer / busy / machine / no key, before moving on.
    pub max_redials: u32,
    /// Complete walks over both lists before giving up (1 = walk once).
    pub rounds: u32,
    /// How long a call rings (also set in the Studio flow); used for the dry run and sweeping.
    pub ring_timeout_secs: u32,
    /// On EXHAUSTED, reassign the incident to this group (sys_id), if set.
    #[serde(default)]
    pub fallback_group: Option<String>,
    /// People skipped because they were on another escalation's call are tried again after
    /// this many seconds, once the rest of the walk is done.
    #[serde(default = "default_busy_retry_secs")]
    pub busy_retry_secs: u32,
    /// How many such waits before giving up on busy people.
    #[serde(default = "default_max_busy_retries")]
    pub max_busy_retries: u32,
}

fn default_busy_retry_secs() -> u32 {
    30
}

fn default_max_busy_retries() -> u32 {
    3
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_redials: 1,
            rounds: 1,
            ring_timeout_secs: 30,
            fallback_group: None,
            busy_retry_secs: default_busy_retry_secs(),
            max_busy_retries: default_max_busy_retries(),
        }
    }
}

/// What the business rule told us about the incident.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub sys_id: String,
    pub number: String,
    pub short_description: String,
    pub priority: String,
    #[serde(default)]
    pub assignment_group: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Active,
    Accepted,
    Exhausted,
}

impl Status {
    pub fn is_terminal(self) -> bool {
        self != Status::Active
    }
}

/// How one call ended, read from the Studio execution context.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum CallOutcome {
    /// Pressed 1.
    Accepted,
    /// Pressed 2.
    Passed,
    /// Pressed 3.
    Escalated,
    /// Pressed a key that means nothing.
    InvalidKey(String),
    /// Answered, pressed nothing.
    NoKeypress,
    NoAnswer,
    Busy,
    /// The call could not be connected.
    Failed,
    /// Answered by a machine (voicemail, fax).
    Machine,
    /// Twilio refused to start the call (e.g. invalid number); redialling will not help.
    Unreachable(String),
    /// The agent is already on another escalation's call (Studio 409 with a foreign execution).
    OnAnotherCall,
}

impl CallOutcome {
    pub fn describe(&self) -> String {
        match self {
            CallOutcome::Accepted => "pressed 1 (accept)".into(),
            CallOutcome::Passed => "pressed 2 (pass to the next agent)".into(),
            CallOutcome::Escalated => "pressed 3 (escalate)".into(),
            CallOutcome::InvalidKey(k) => format!("pressed {k:?}, which is not an option"),
            CallOutcome::NoKeypress => "answered but pressed no key".into(),
            CallOutcome::NoAnswer => "no answer".into(),
            CallOutcome::Busy => "line busy".into(),
            CallOutcome::Failed => "call failed".into(),
            CallOutcome::Machine => "answered by a machine".into(),
            CallOutcome::Unreachable(why) => format!("could not be dialled ({why})"),
            CallOutcome::OnAnotherCall => "already on another escalation call".into(),
        }
    }

    /// The digit, if the person pressed one.
    pub fn digit(&self) -> Option<&str> {
        match self {
            CallOutcome::Accepted => Some("1"),
            CallOutcome::Passed => Some("2"),
            CallOutcome::Escalated => Some("3"),
            CallOutcome::InvalidKey(k) => Some(k),
            _ => None,
        }
    }

    /// Outcomes where nobody made a choice: the same person may be redialled once.
    fn allows_redial(&self) -> bool {
        matches!(
            self,
            CallOutcome::InvalidKey(_)
                | CallOutcome::NoKeypress
                | CallOutcome::NoAnswer
                | CallOutcome::Busy
                | CallOutcome::Failed
                | CallOutcome::Machine
        )
    }
}

/// Where the walk stands. Agents and escalation list have separate positions: the demo's
/// bug indexed the escalation list with the agent position.
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Phase {
    /// Written before Twilio is asked to call: a crash here must not lead to two calls.
    Dialing,
    /// Twilio accepted the execution; its SID is recorded.
    Calling,
}

/// The call in progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// 1-based, unique within the escalation.
    pub number: u32,
    pub list: ListKind,
    pub position: usize,
    pub round: u32,
    pub person: Person,
    pub phase: Phase,
    pub execution_sid: Option<String>,
    pub started_at: u64,
    /// Not to be dialled before this time (waiting for busy people to finish a call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<u64>,
    /// A dialer (trigger, flow-events, sweeper) holds the right to place this call until
    /// this time: nobody else may place it meanwhile. See [`Escalation::claim_dial`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dial_lease_until: Option<u64>,
    /// How many times a dialer has claimed this call. More than one means an earlier dialer
    /// may have had Twilio create the execution and died before recording it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dial_claims: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Attempt {
    /// Another dialer holds an unexpired lease on this call.
    pub fn is_leased(&self, now: u64) -> bool {
        self.dial_lease_until.is_some_and(|until| until > now)
    }
}

/// A finished call, kept for the timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptRecord {
    pub number: u32,
    pub list: ListKind,
    pub name: String,
    pub masked_phone: String,
    pub execution_sid: Option<String>,
    pub outcome: CallOutcome,
    pub started_at: u64,
    pub ended_at: u64,
}

/// One write to the incident, queued to SQS and applied by incident-updater.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnUpdate {
    /// Idempotency key: a redelivered update with the same key is not written twice.
    pub key: String,
    pub sys_id: String,
    pub incident_number: String,
    pub escalation_id: String,
    pub work_note: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// `sn_user` from the roster (sys_id or user_name), resolved by the updater.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignment_group: Option<String>,
}

/// What to do after a transition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// Start a Studio execution for `escalation.current`.
    Dial,
    /// Terminal: nothing more to call.
    Done(Status),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    pub next: Next,
    pub update: SnUpdate,
}

/// Why an event was not applied. None of these is an error: events arrive late, twice and
/// out of order.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Ignored {
    #[error("escalation already {0:?}")]
    Finished(Status),
    #[error("attempt {event_attempt} is not the current attempt {current:?} (stale or duplicate)")]
    NotCurrent {
        event_attempt: u32,
        current: Option<u32>,
    },
    #[error("execution {event_sid} is not the current attempt's execution {current_sid}")]
    OtherExecution {
        event_sid: String,
        current_sid: String,
    },
    #[error("attempt {attempt} is not waiting to be dialled")]
    NotDialing { attempt: u32 },
    #[error("attempt {attempt} is being dialled by another invocation (lease until {until})")]
    Leased { attempt: u32, until: u64 },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalation {
    pub id: String,
    pub incident: Incident,
    pub roster: Roster,
    pub policy: Policy,
    pub status: Status,
    pub cursor: Cursor,
    pub current: Option<Attempt>,
    pub history: Vec<AttemptRecord>,
    pub accepted_by: Option<String>,
    pub created_at: u64,
    pub updated_at: u64,
    /// People skipped in this walk because they were on another escalation's call.
    #[serde(default)]
    pub busy: Vec<Slot>,
    /// While retrying busy people: who is left to call (front = current).
    #[serde(default)]
    pub busy_pass: Option<std::collections::VecDeque<Slot>>,
    #[serde(default)]
    pub busy_retries: u32,
}

/// A place in the roster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    pub list: ListKind,
    pub position: usize,
}

/// What the sweeper should do about an escalation whose flow-end event may be lost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SweepAction {
    /// The current attempt was written as DIALING but no call is recorded: place it.
    Dial,
    /// The call should have ended by now: ask Twilio about the execution.
    CheckExecution { sid: String, overdue_ms: u64 },
}

impl Escalation {
    /// A new escalation with attempt 1 (first agent) in DIALING, and the "started" note.
    pub fn start(
        id: String,
        incident: Incident,
        roster: Roster,
        policy: Policy,
        now: u64,
    ) -> (Escalation, SnUpdate) {
        let mut esc = Escalation {
            id,
            incident,
            roster,
            policy,
            status: Status::Active,
            cursor: Cursor {
                list: ListKind::Agents,
                agent_pos: 0,
                esc_pos: 0,
                round: 0,
                redials: 0,
            },
            current: None,
            history: Vec::new(),
            accepted_by: None,
            created_at: now,
            updated_at: now,
            busy: Vec::new(),
            busy_pass: None,
            busy_retries: 0,
        };
        esc.begin_attempt(now, None);
        let names = |people: &[Person]| {
            people
                .iter()
                .map(|p| format!("{} ({})", p.name, p.phone.masked()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let note = format!(
            "{} Phone escalation started for priority {}. Agents: {}; then escalation list: {}{}. Press 1 accepts, 2 passes, 3 escalates.",
            esc.tag(),
            esc.incident.priority,
            names(&esc.roster.agents),
            names(&esc.roster.escalation),
            if esc.policy.rounds > 1 {
                format!(", repeated for {} rounds", esc.policy.rounds)
            } else {
                String::new()
            }
        );
        let update = esc.update("started", note);
        (esc, update)
    }

    fn tag(&self) -> String {
        format!("[Phone escalation {}]", self.id)
    }

    fn update(&self, key_suffix: &str, work_note: String) -> SnUpdate {
        SnUpdate {
            key: format!("{}:{key_suffix}", self.id),
            sys_id: self.incident.sys_id.clone(),
            incident_number: self.incident.number.clone(),
            escalation_id: self.id.clone(),
            work_note,
            state: None,
            assign_to: None,
            assignment_group: None,
        }
    }

    /// The number the next attempt will get.
    pub fn attempts_made(&self) -> u32 {
        self.history.len() as u32 + u32::from(self.current.is_some())
    }

    /// Who the cursor points at.
    fn slot(&self) -> Slot {
        if let Some(front) = self.busy_pass.as_ref().and_then(|p| p.front()) {
            return *front;
        }
        let c = &self.cursor;
        Slot {
            list: c.list,
            position: match c.list {
                ListKind::Agents => c.agent_pos,
                ListKind::Escalation => c.esc_pos,
            },
        }
    }

    fn begin_attempt(&mut self, now: u64, not_before: Option<u64>) {
        let slot = self.slot();
        let person = self.roster.list(slot.list)[slot.position].clone();
        self.current = Some(Attempt {
            number: self.history.len() as u32 + 1,
            list: slot.list,
            position: slot.position,
            round: self.cursor.round,
            person,
            phase: Phase::Dialing,
            execution_sid: None,
            started_at: now,
            not_before,
            dial_lease_until: None,
            dial_claims: 0,
        });
    }

    /// The current attempt if it is number `attempt` and the escalation is still going.
    fn live_attempt(&mut self, attempt: u32) -> Result<&mut Attempt, Ignored> {
        if self.status.is_terminal() {
            return Err(Ignored::Finished(self.status));
        }
        let current_number = self.current.as_ref().map(|a| a.number);
        self.current
            .as_mut()
            .filter(|a| a.number == attempt)
            .ok_or(Ignored::NotCurrent {
                event_attempt: attempt,
                current: current_number,
            })
    }

    /// Take the right to place the current attempt's call for `lease_ms`. Whoever wants to
    /// call Twilio saves this first (a conditional write on the version): of two dialers
    /// racing for the same attempt, one wins the write and the other sees the lease, so the
    /// call is placed once. A dialer that dies leaves the lease to expire; then the sweeper
    /// (or a redelivered event) may claim the attempt. Refused when the attempt is not the
    /// current one, is no longer DIALING, or someone else's lease has not expired.
    pub fn claim_dial(&mut self, attempt: u32, now: u64, lease_ms: u64) -> Result<(), Ignored> {
        let current = self.live_attempt(attempt)?;
        if current.phase != Phase::Dialing {
            return Err(Ignored::NotDialing { attempt });
        }
        if let Some(until) = current.dial_lease_until.filter(|u| *u > now) {
            return Err(Ignored::Leased { attempt, until });
        }
        current.dial_lease_until = Some(now + lease_ms);
        current.dial_claims += 1;
        self.updated_at = now;
        Ok(())
    }

    /// Give a lease back (the dialer failed before Twilio created a call), so the next
    /// try need not wait for it to expire. Only the holder's own lease is released.
    pub fn release_dial(&mut self, attempt: u32, until: u64) -> bool {
        match self.current.as_mut() {
            Some(a)
                if a.number == attempt
                    && a.phase == Phase::Dialing
                    && a.dial_lease_until == Some(until) =>
            {
                a.dial_lease_until = None;
                true
            }
            _ => false,
        }
    }

    /// Record the Studio execution SID for the current attempt (DIALING → CALLING).
    /// Idempotent for the same SID.
    pub fn record_execution(&mut self, attempt: u32, sid: &str, now: u64) -> Result<(), Ignored> {
        let current = self.live_attempt(attempt)?;
        if let Some(existing) = &current.execution_sid
            && existing != sid
        {
            return Err(Ignored::OtherExecution {
                event_sid: sid.to_string(),
                current_sid: existing.clone(),
            });
        }
        current.execution_sid = Some(sid.to_string());
        current.phase = Phase::Calling;
        current.dial_lease_until = None;
        self.updated_at = now;
        Ok(())
    }

    /// Apply the end of a call. `attempt` and `execution_sid` identify the call (from the
    /// execution's parameters and the event); anything not about the current call is ignored.
    pub fn on_call_ended(
        &mut self,
        attempt: u32,
        execution_sid: Option<&str>,
        outcome: CallOutcome,
        now: u64,
    ) -> Result<Transition, Ignored> {
        if self.status.is_terminal() {
            return Err(Ignored::Finished(self.status));
        }
        let current = match &self.current {
            Some(a) if a.number == attempt => a.clone(),
            other => {
                return Err(Ignored::NotCurrent {
                    event_attempt: attempt,
                    current: other.as_ref().map(|a| a.number),
                });
            }
        };
        if let (Some(ours), Some(theirs)) = (&current.execution_sid, execution_sid)
            && ours != theirs
        {
            return Err(Ignored::OtherExecution {
                event_sid: theirs.to_string(),
                current_sid: ours.clone(),
            });
        }
        let sid = current
            .execution_sid
            .clone()
            .or(execution_sid.map(str::to_string));
        self.history.push(AttemptRecord {
            number: current.number,
            list: current.list,
            name: current.person.name.clone(),
            masked_phone: current.person.phone.masked(),
            execution_sid: sid.clone(),
            outcome: outcome.clone(),
            started_at: current.started_at,
            ended_at: now,
        });
        self.current = None;
        self.updated_at = now;

        let placed = !matches!(
            outcome,
            CallOutcome::OnAnotherCall | CallOutcome::Unreachable(_)
        );
        let mut note = format!(
            "{} Attempt {}: {} {} {} ({}) — {}. Twilio execution {}; {}.",
            self.tag(),
            current.number,
            if placed { "called" } else { "could not call" },
            current.list.label(),
            current.person.name,
            current.person.phone.masked(),
            outcome.describe(),
            sid.as_deref().unwrap_or("none"),
            human_duration(now.saturating_sub(current.started_at)),
        );

        if outcome == CallOutcome::Accepted {
            self.status = Status::Accepted;
            self.accepted_by = Some(current.person.name.clone());
            note.push_str(&format!(
                " ACCEPTED by {} at {}, {} after the escalation started.",
                current.person.name,
                format_utc(now),
                human_duration(now.saturating_sub(self.created_at))
            ));
            let mut update = self.update(&format!("attempt:{}", current.number), note);
            update.state = Some("2".into());
            update.assign_to = current.person.sn_user.clone();
            return Ok(Transition {
                next: Next::Done(Status::Accepted),
                update,
            });
        }

        let redial = outcome.allows_redial() && self.cursor.redials < self.policy.max_redials;
        if outcome == CallOutcome::OnAnotherCall {
            self.busy.push(Slot {
                list: current.list,
                position: current.position,
            });
        }
        if redial {
            self.cursor.redials += 1;
        } else {
            self.cursor.redials = 0;
            match outcome {
                CallOutcome::Escalated => self.escalate(),
                _ => self.advance(),
            }
        }

        let mut not_before = None;
        if self.cursor_exhausted() {
            if !self.busy.is_empty() && self.busy_retries < self.policy.max_busy_retries {
                // Some people could not be called because they were on another escalation's
                // call: wait, then try just them again before giving up.
                self.busy_retries += 1;
                let pass: std::collections::VecDeque<Slot> = std::mem::take(&mut self.busy).into();
                note.push_str(&format!(
                    " {} of the people to call {} on other escalation calls; calling them again in {} s (busy retry {} of {}).",
                    pass.len(),
                    if pass.len() == 1 { "was" } else { "were" },
                    self.policy.busy_retry_secs,
                    self.busy_retries,
                    self.policy.max_busy_retries
                ));
                self.busy_pass = Some(pass);
                self.cursor.redials = 0;
                not_before = Some(now + u64::from(self.policy.busy_retry_secs) * 1000);
            } else if self.cursor.round + 1 < self.policy.rounds {
                self.busy.clear();
                self.busy_pass = None;
                self.cursor = Cursor {
                    list: ListKind::Agents,
                    agent_pos: 0,
                    esc_pos: 0,
                    round: self.cursor.round + 1,
                    redials: 0,
                };
            } else {
                self.status = Status::Exhausted;
                let people = self.roster.agents.len() + self.roster.escalation.len();
                note.push_str(&format!(
                    " NOBODY ACCEPTED: {} calls to {} people over {} round(s) without an answer that accepted.{} Please assign this incident by hand.",
                    self.history.len(),
                    people,
                    self.policy.rounds,
                    match &self.policy.fallback_group {
                        Some(g) => format!(" Reassigned to fallback group {g}."),
                        None => String::new(),
                    }
                ));
                let mut update = self.update(&format!("attempt:{}", current.number), note);
                update.assignment_group = self.policy.fallback_group.clone();
                return Ok(Transition {
                    next: Next::Done(Status::Exhausted),
                    update,
                });
            }
        }

        self.begin_attempt(now, not_before);
        let next = self.current.as_ref().expect("attempt just begun");
        note.push_str(&if redial {
            format!(
                " Calling {} again (redial {}).",
                next.person.name, self.cursor.redials
            )
        } else {
            format!(
                " Next: {} {} ({}).",
                next.list.label(),
                next.person.name,
                next.person.phone.masked()
            )
        });
        Ok(Transition {
            next: Next::Dial,
            update: self.update(&format!("attempt:{}", current.number), note),
        })
    }

    /// Digit 2 / no answer: the next person; after the last agent, the escalation list.
    fn advance(&mut self) {
        if let Some(pass) = &mut self.busy_pass {
            pass.pop_front();
            return;
        }
        match self.cursor.list {
            ListKind::Agents => {
                self.cursor.agent_pos += 1;
                if self.cursor.agent_pos >= self.roster.agents.len() {
                    self.cursor.list = ListKind::Escalation;
                }
            }
            ListKind::Escalation => self.cursor.esc_pos += 1,
        }
    }

    /// Digit 3: the next person in the escalation list, at the escalation position.
    fn escalate(&mut self) {
        if self.busy_pass.is_some() {
            return self.advance();
        }
        match self.cursor.list {
            ListKind::Agents => self.cursor.list = ListKind::Escalation,
            ListKind::Escalation => self.cursor.esc_pos += 1,
        }
    }

    fn cursor_exhausted(&self) -> bool {
        if let Some(pass) = &self.busy_pass {
            return pass.is_empty();
        }
        self.cursor.list == ListKind::Escalation
            && self.cursor.esc_pos >= self.roster.escalation.len()
    }

    /// Whether the sweeper must step in: an attempt written as DIALING and never placed
    /// (after `grace_ms`, or once its busy wait is over), or a call that should have ended
    /// (ring timeout + `grace_ms`) without its flow-end event being applied.
    pub fn sweep_action(&self, now: u64, grace_ms: u64) -> Option<SweepAction> {
        if self.status.is_terminal() {
            return None;
        }
        let a = self.current.as_ref()?;
        match (&a.phase, &a.execution_sid) {
            (Phase::Dialing, _) => {
                // Never while another dialer's lease runs: it may be sending the create.
                let due = a
                    .not_before
                    .unwrap_or(a.started_at + grace_ms)
                    .max(a.dial_lease_until.unwrap_or(0));
                (now >= due).then_some(SweepAction::Dial)
            }
            (Phase::Calling, Some(sid)) => {
                let due = a.started_at + u64::from(self.policy.ring_timeout_secs) * 1000 + grace_ms;
                (now >= due).then(|| SweepAction::CheckExecution {
                    sid: sid.clone(),
                    overdue_ms: now - due,
                })
            }
            (Phase::Calling, None) => Some(SweepAction::Dial),
        }
    }

    /// Who would be called, in order, if nobody answers and nobody presses a key (one
    /// entry per planned call, redials included). The dry run prints this.
    pub fn plan(&self) -> Vec<PlannedCall> {
        plan(&self.roster, &self.policy)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlannedCall {
    pub round: u32,
    pub list: ListKind,
    pub person: Person,
    pub redial: u32,
}

/// The worst-case walk: nobody answers anywhere.
pub fn plan(roster: &Roster, policy: &Policy) -> Vec<PlannedCall> {
    let mut calls = Vec::new();
    for round in 0..policy.rounds.max(1) {
        for (list, people) in [
            (ListKind::Agents, &roster.agents),
            (ListKind::Escalation, &roster.escalation),
        ] {
            for person in people.iter() {
                for redial in 0..=policy.max_redials {
                    calls.push(PlannedCall {
                        round,
                        list,
                        person: person.clone(),
                        redial,
                    });
                }
            }
        }
    }
    calls
}

#[cfg(test)]
#[path = "domain_tests.rs"]
mod tests;
