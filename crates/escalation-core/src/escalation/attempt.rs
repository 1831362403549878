//! One call: the attempt in progress, and the record kept once it is over.

use crate::bundle::BundleTag;
use crate::model::{CallOutcome, ExecutionSid, ListKind, Person};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Phase {
    /// Written before the call is placed: a crash here must not lead to two calls.
    Dialing,
    /// The call was placed; its execution SID is recorded.
    Calling,
}

/// The call in progress. Read-only outside the aggregate: every change goes through
/// [`super::Escalation`]'s methods.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// 1-based, unique within the escalation.
    pub number: u32,
    pub list: ListKind,
    pub position: usize,
    pub round: u32,
    pub person: Person,
    pub phase: Phase,
    pub execution_sid: Option<ExecutionSid>,
    pub started_at: u64,
    /// Not to be dialled before this time (waiting for busy people to finish a call).
    pub not_before: Option<u64>,
    /// A dialer (trigger, flow-events, sweeper) holds the right to place this call until
    /// this time: nobody else may place it meanwhile.
    pub dial_lease_until: Option<u64>,
    /// How many times a dialer has claimed this call. More than one means an earlier dialer
    /// may have placed the call and died before recording it.
    pub dial_claims: u32,
    /// How many attempts its ring-all step started together, this one included (0: the
    /// person is called alone).
    pub ring: u32,
    /// The bundle this attempt waits in, or the bundle call it was placed in (`None`: an
    /// ordinary call).
    pub bundle: Option<BundleTag>,
}

impl Attempt {
    /// Another dialer holds an unexpired lease on this call.
    pub fn is_leased(&self, now: u64) -> bool {
        self.dial_lease_until.is_some_and(|until| until > now)
    }

    /// The call this attempt was placed in is about other incidents too (a bundle call):
    /// ending this attempt must not hang it up, the others' people are still on it.
    pub fn shares_call(&self) -> bool {
        self.bundle.as_ref().is_some_and(BundleTag::is_shared)
    }

    /// The call to hang up when this attempt ends by other means than its call (none when
    /// it was never placed, or when the call is shared with other incidents).
    pub fn own_call(&self) -> Option<&ExecutionSid> {
        self.execution_sid.as_ref().filter(|_| !self.shares_call())
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
