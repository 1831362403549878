//! The use cases, written once against the ports: start an escalation, place a call, apply
//! the end of a call, sweep what the event path left behind (the [`Engine`]); write a
//! queued update to the incident ([`UpdateApplier`]); refuse a replayed trigger
//! ([`ReplayGuard`]).
//!
//! - `commit`: the one way a state change is saved.
//! - `start`, `dial`, `call_ended`, `cancel`, `sweep`: the engine's steps.
//! - `decide`: a live decision (accept or pass while the attempt is going), through the
//!   same rules and write as the end of the call.
//! - `sms`: the text after an unanswered call, and the reply to it.
//! - `apply_update`, `replay`: the updater's and the trigger's guards.
//! - `on_call`: who a team's incident would call now (the inbound line's put-through).
//! - `ring`: hanging up the other calls of a ring-all step.
//! - `both`: two steps at once (the start's note and dial request).
//! - `bundle`: one call for several incidents waiting for the same person.

mod apply_update;
mod both;
mod bundle;
mod bundle_call;
mod call_ended;
mod cancel;
mod commit;
mod decide;
mod dial;
mod on_call;
mod replay;
mod ring;
mod sms;
mod start;
mod sweep;

pub use apply_update::{Applied, UPDATE_MARK_TTL_SECS, UpdateApplier, UpdateError};
pub use bundle::BundleParts;
pub use call_ended::{EventOutcome, EventResult};
pub use cancel::CancelResult;
pub use decide::{Choice, DecisionReply, LiveDecision, Verdict};
pub use replay::{Replay, ReplayGuard};
pub use sms::{SmsAnswer, SmsParts};
pub use sweep::SweepReport;

use crate::escalation::{Escalation, Next, Policy, Status, Transition};
use crate::model::{CallOutcome, SysId};
use crate::ports::{
    Clock, DialQueue, Dialer, EscalationRepo, LineupSource, Marks, Metric, Metrics, Outbox,
    OutboxError, RepoError, Stored, TelephonyError,
};
use std::sync::Arc;

/// The adapters the engine works with.
#[derive(Clone)]
pub struct Ports {
    pub repo: Arc<dyn EscalationRepo>,
    pub marks: Arc<dyn Marks>,
    pub outbox: Arc<dyn Outbox>,
    pub dialer: Arc<dyn Dialer>,
    pub lineups: Arc<dyn LineupSource>,
    pub metrics: Arc<dyn Metrics>,
    pub clock: Arc<dyn Clock>,
}

/// The engine's settings, from the deployment's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Tunables given to every new escalation.
    pub policy: Policy,
    /// Incident priorities that start an escalation ("1" to "5").
    pub priorities: Vec<String>,
    /// The sweeper leaves an attempt alone this long past its due time.
    pub sweep_grace_secs: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            policy: Policy::default(),
            priorities: vec!["1".into(), "2".into()],
            sweep_grace_secs: 30,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error(transparent)]
    Telephony(#[from] TelephonyError),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// No source has anyone to call for the incident; a work note says so.
    #[error("nobody to call: {0}")]
    NobodyToCall(String),
    #[error("escalation kept changing under us; giving up for now")]
    Contention,
}

impl EngineError {
    /// A fault of the deployment's configuration (credentials, a missing or wrong flow)
    /// rather than of one call: it hits every escalation alike and will not go away by
    /// retrying, so the function must fail loudly.
    pub fn is_configuration(&self) -> bool {
        matches!(self, EngineError::Telephony(e) if e.kind == crate::ports::TelephonyErrorKind::Rejected)
    }
}

/// Moves escalations forward: the trigger, flow-events, the sweeper and the inbound line
/// all go through it.
#[derive(Clone)]
pub struct Engine {
    ports: Ports,
    settings: Settings,
    /// Where first calls go when the caller must not wait for them (the trigger).
    dials: Option<Arc<dyn DialQueue>>,
    /// Texts after unanswered calls, and replies to them (`sms`).
    sms: Option<SmsParts>,
    /// One call for several incidents waiting for the same person (`bundle`).
    bundles: Option<BundleParts>,
}

impl Engine {
    pub fn new(ports: Ports, settings: Settings) -> Engine {
        Engine {
            ports,
            settings,
            dials: None,
            sms: None,
            bundles: None,
        }
    }

    /// This engine hands a new escalation's first call to `queue` instead of placing it:
    /// [`Engine::start`] returns once the escalation is stored and its "started" note and
    /// the dial request are queued, and the dialer places the call
    /// ([`Engine::dial_requested`]).
    pub fn with_dial_queue(mut self, queue: Arc<dyn DialQueue>) -> Engine {
        self.dials = Some(queue);
        self
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether an incident of this priority is escalated.
    pub fn escalates(&self, priority: &str) -> bool {
        self.settings.priorities.iter().any(|p| p == priority)
    }

    /// The escalation of an incident, if it has one.
    pub async fn find(&self, sys_id: &SysId) -> Result<Option<Stored>, EngineError> {
        Ok(self.ports.repo.load(sys_id).await?)
    }

    fn now(&self) -> u64 {
        self.ports.clock.now_ms()
    }

    /// Metrics for a transition that was saved: one attempt, and the outcome if final.
    fn observe(&self, esc: &Escalation, t: &Transition) {
        let mut values = vec![(Metric::Attempts, 1.0)];
        match t.next {
            Next::Done(Status::Accepted) => {
                values.push((Metric::Accepts, 1.0));
                let tta = esc.updated_at().saturating_sub(esc.created_at()) as f64;
                values.push((Metric::TimeToAccept, tta));
            }
            Next::Done(Status::Exhausted) => values.push((Metric::Exhausted, 1.0)),
            _ => {}
        }
        self.ports.metrics.incident(esc.incident(), &values);
        if let Some(CallOutcome::Declined(reason)) = esc.history().last().map(|h| &h.outcome) {
            self.ports.metrics.declined(esc.incident(), *reason);
        }
    }
}
