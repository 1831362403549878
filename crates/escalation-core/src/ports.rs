//! What the engine needs from the outside world, one narrow trait per capability. The
//! adapters crate implements them for DynamoDB, SQS, Twilio and ServiceNow; `testing`
//! implements them in memory. Vendor words (HTTP codes, Twilio error numbers, ServiceNow's
//! state "2") never cross these traits: each adapter maps them to the types here.

use crate::escalation::Escalation;
use crate::model::{
    CallOutcome, DeclineReason, E164, EscalationId, ExecutionSid, Incident, Person, Roster, SysId,
};
use crate::update::{IncidentPatch, IncidentUpdate};
use async_trait::async_trait;

// ---------------------------------------------------------------------------------------
// Storage

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RepoError {
    #[error("escalation changed concurrently (expected version {expected})")]
    Conflict { expected: u64 },
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("stored escalation is unreadable: {0}")]
    Corrupt(String),
}

/// An escalation as stored, with the version its next conditional write must expect.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub escalation: Escalation,
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    New(Stored),
    /// An escalation for this incident already existed: nothing was written.
    Existing(Stored),
}

/// One escalation per incident, written only with conditional writes.
#[async_trait]
pub trait EscalationRepo: Send + Sync {
    /// Write a new escalation unless one exists for the incident.
    async fn create(&self, esc: &Escalation) -> Result<Created, RepoError>;
    async fn load(&self, sys_id: &SysId) -> Result<Option<Stored>, RepoError>;
    /// Succeeds only if the stored version is `expected`; returns the new version.
    async fn save(&self, esc: &Escalation, expected: u64) -> Result<u64, RepoError>;
    /// Every escalation still active (for the sweeper). One that cannot be read is
    /// reported beside the others, never instead of them.
    async fn active(&self) -> Result<ActiveScan, RepoError>;
}

/// The active escalations, and those whose stored form could not be read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActiveScan {
    pub escalations: Vec<Stored>,
    pub unreadable: Vec<Unreadable>,
}

/// A stored escalation that could not be read: where it is and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub key: String,
    pub problem: String,
}

/// Something already done, remembered for a while so that it is not done twice.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Mark {
    /// A Twilio event (by its CloudEvent id) was applied.
    Event(String),
    /// An incident update (by its key) was written to ServiceNow.
    Update(String),
    /// A signed trigger request (by a hash of its signature) was accepted.
    Signature(String),
    /// The inbound line: a recording the caller sent / discarded.
    RecordingSent(String),
    RecordingDiscarded(String),
    /// The inbound line: person `index` took the put-through call `parent`.
    CallTaken {
        parent: String,
        index: usize,
    },
    /// The inbound line: the incident for this call or message is being created.
    Creating(String),
    /// The inbound line: a transcription was written as a note.
    Transcription(String),
    /// The bridge of one attempt of an escalation was opened (its callee called).
    BridgeOpened {
        escalation_id: String,
        attempt: u32,
    },
}

/// Conditional "first one wins" marks with an expiry.
#[async_trait]
pub trait Marks: Send + Sync {
    async fn has(&self, mark: &Mark) -> Result<bool, RepoError>;
    /// Record `mark` for `ttl_secs`. `Ok(false)`: it existed already.
    async fn put(&self, mark: &Mark, ttl_secs: u64) -> Result<bool, RepoError>;
}

// ---------------------------------------------------------------------------------------
// The incident update queue

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("update queue: {0}")]
pub struct OutboxError(pub String);

/// Updates for ServiceNow, queued so that a ServiceNow outage never blocks a call, and
/// written in order per incident.
#[async_trait]
pub trait Outbox: Send + Sync {
    async fn enqueue(&self, updates: &[IncidentUpdate]) -> Result<(), OutboxError>;
}

pub use crate::dial_queue::{DialQueue, DialRequest};

// ---------------------------------------------------------------------------------------
// Telephony (Twilio Studio)

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TelephonyErrorKind {
    /// Worth another try later, and nothing was done (a rate limit, a refused connection).
    Unavailable,
    /// Worth another try later, but the request may have been carried out (a timeout or a
    /// 5xx after it was sent): a call may have been placed.
    OutcomeUnknown,
    /// Refused for a reason that does not go away by itself (credentials, a missing flow).
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TelephonyError {
    pub kind: TelephonyErrorKind,
    pub message: String,
}

/// One call to place: who, for which attempt of which escalation.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRequest {
    pub escalation_id: EscalationId,
    pub incident: Incident,
    pub attempt: u32,
    pub person: Person,
    pub ring_timeout_secs: u32,
    /// When the attempt began (orphan searches look from here).
    pub attempt_started_at: u64,
    /// The other incidents of a bundle call, in the order the call reads them after this
    /// one (empty: the call is about this incident alone).
    pub bundle: Vec<crate::bundle::BundledCall>,
}

/// What became of a request to place a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialResult {
    Placed(ExecutionSid),
    /// A call for this very attempt was already running (placed by an earlier try): ours.
    AlreadyOurs(ExecutionSid),
    /// The person is on another escalation's call right now.
    OnAnotherCall,
    /// This number cannot be called; redialling will not help.
    Unreachable(String),
}

/// The parameters a call was placed with, read back from the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallParams {
    pub escalation_id: EscalationId,
    pub sys_id: SysId,
    pub attempt: u32,
    /// The other attempts a bundle call was about (empty: an ordinary call).
    pub bundle: Vec<crate::bundle::Member>,
}

impl CallParams {
    /// Whether the call was placed for this attempt of this escalation (as its own call or
    /// as one of a bundle's).
    pub fn is_for(&self, escalation_id: &EscalationId, attempt: u32) -> bool {
        (&self.escalation_id == escalation_id && self.attempt == attempt)
            || self
                .bundle
                .iter()
                .any(|m| &m.escalation_id == escalation_id && m.attempt == attempt)
    }
}

/// A finished call as the telephony side reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallReport {
    /// `None`: the call was not placed by us (e.g. a console test run).
    pub params: Option<CallParams>,
    pub outcome: CallOutcome,
}

/// What became of a request to hang up an attempt's call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HangUpOutcome {
    /// The call was ringing or live: it is hung up, and its execution ended.
    HungUp,
    /// No call of the execution was ringing or live any more (it had ended, or never
    /// reached the phone); the execution is ended all the same.
    NoCall,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    Active,
    Ended,
    /// The telephony side no longer knows the call.
    Gone,
}

#[async_trait]
pub trait Dialer: Send + Sync {
    /// Wait for a slot under the account's call rate. The engine waits here before it
    /// claims an attempt, so that a dialer's lease covers the request and not the queue.
    async fn reserve(&self) -> Result<(), TelephonyError> {
        Ok(())
    }
    /// Place the call (bounded in time by the adapter).
    async fn place(&self, call: &CallRequest) -> Result<DialResult, TelephonyError>;
    /// A call placed for this attempt since it began, if there is one (an earlier dialer
    /// may have placed it and died before recording it).
    async fn find_placed(&self, call: &CallRequest)
    -> Result<Option<ExecutionSid>, TelephonyError>;
    /// How a call ended. `None`: unknown to the telephony side.
    async fn report(&self, sid: &ExecutionSid) -> Result<Option<CallReport>, TelephonyError>;
    async fn state(&self, sid: &ExecutionSid) -> Result<CallState, TelephonyError>;
    /// End a call that should not be running (the execution only: a call that has not
    /// reached the phone yet never rings).
    async fn end(&self, sid: &ExecutionSid) -> Result<(), TelephonyError>;
    /// Hang up the call of the attempt whose execution is `sid`, whether it is still
    /// ringing or already answered, and end the execution: nobody hears anything more of
    /// it. An error means the call may still be ringing (the execution is ended if it
    /// could be).
    async fn hang_up(&self, sid: &ExecutionSid) -> Result<HangUpOutcome, TelephonyError>;
}

// ---------------------------------------------------------------------------------------
// ServiceNow

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceNowErrorKind {
    /// Worth another try later (timeouts, 5xx, 429, a hibernating instance).
    Unavailable,
    /// Refused (credentials, ACLs, a missing record).
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ServiceNowError {
    pub kind: ServiceNowErrorKind,
    pub message: String,
}

/// What the incident updater writes.
#[async_trait]
pub trait IncidentWriter: Send + Sync {
    /// Resolve a person's `sn_user` (a sys_id or a user_name) to an active user's sys_id.
    async fn resolve_user(&self, user: &str) -> Result<Option<SysId>, ServiceNowError>;
    /// Whether a work note containing `needle` already exists on the incident.
    async fn note_exists(&self, sys_id: &SysId, needle: &str) -> Result<bool, ServiceNowError>;
    /// Whether the incident is resolved, closed or canceled: an update must not reopen it.
    async fn is_closed(&self, sys_id: &SysId) -> Result<bool, ServiceNowError>;
    /// Write the patch; returns the fields as the incident holds them afterwards (an ACL
    /// or a data policy can drop a field without an error).
    async fn patch(
        &self,
        sys_id: &SysId,
        patch: &IncidentPatch,
    ) -> Result<IncidentNow, ServiceNowError>;
}

/// The fields the product sets, as the incident holds them after a write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncidentNow {
    pub in_progress: bool,
    pub assigned_to: Option<SysId>,
    pub assignment_group: Option<String>,
}

/// An incident as the inbound line needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentRecord {
    pub sys_id: SysId,
    pub number: String,
    pub priority: String,
}

/// A ServiceNow user found by phone number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryUser {
    pub sys_id: SysId,
    pub user_name: String,
    pub name: String,
}

/// The fields of a new incident (names and values as ServiceNow takes them).
pub type IncidentFields = serde_json::Map<String, serde_json::Value>;

/// What the inbound line reads and creates in ServiceNow.
#[async_trait]
pub trait IncidentDirectory: Send + Sync {
    async fn resolve_user(&self, user: &str) -> Result<Option<SysId>, ServiceNowError>;
    /// Active users whose phone or mobile phone is `number`.
    async fn find_users_by_phone(
        &self,
        number: &E164,
        default_country_code: Option<&str>,
    ) -> Result<Vec<DirectoryUser>, ServiceNowError>;
    /// The newest incident whose correlation id is exactly `correlation_id`.
    async fn find_incident_by_correlation(
        &self,
        correlation_id: &str,
    ) -> Result<Option<IncidentRecord>, ServiceNowError>;
    /// Create an incident. Not retried on an unknown outcome: callers look it up first.
    async fn create_incident(
        &self,
        fields: &IncidentFields,
    ) -> Result<IncidentRecord, ServiceNowError>;
}

// ---------------------------------------------------------------------------------------
// Who to call, time, metrics

/// Why a source gave no lineup.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineupError {
    /// The source has no policy for the incident's group (the next source is asked).
    #[error("{0}")]
    NoPolicy(String),
    /// The source could not answer (timeout, refused, garbage): the next one is asked, and
    /// the lineup used says why.
    #[error("{0}")]
    Unavailable(String),
}

/// A lineup as the walk follows it: the roster (its `source` says where it came from) and
/// the policy's rounds and catch-all group, when it sets them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub roster: Roster,
    pub rounds: Option<u32>,
    pub fallback_group: Option<String>,
}

/// Who is called for an incident, resolved when its escalation starts (the walk never
/// changes under a ringing phone: the lineup is snapshotted into the escalation).
#[async_trait]
pub trait LineupSource: Send + Sync {
    /// How notes name the source ("ServiceNow On-Call", "stored policies").
    fn name(&self) -> &str;
    /// The lineup for `incident` at `at_ms` (Unix milliseconds).
    async fn lineup_for(&self, incident: &Incident, at_ms: u64) -> Result<Resolved, LineupError>;
}

pub trait Clock: Send + Sync {
    /// Unix milliseconds.
    fn now_ms(&self) -> u64;
}

/// The metrics the engine reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// A call finished (or could not be placed).
    Attempts,
    /// Someone accepted.
    Accepts,
    /// Escalation start → acceptance, milliseconds.
    TimeToAccept,
    /// Nobody accepted.
    Exhausted,
    /// A person passed the incident on and gave a reason (dimension: the reason).
    Declines,
    /// Twilio failures reported for retry.
    TwilioErrors,
    /// ServiceNow writes that failed and will be redelivered.
    ServiceNowErrors,
    /// Events or updates recognised as already applied.
    DuplicatesDropped,
    /// Stored escalations the sweeper could not read (skipped; someone must look).
    UnreadableEscalations,
    /// A call that should have been placed was not (the telephony side failed or refused).
    DialFailures,
    /// An acceptance or reassignment was written but did not stick (an ACL or data policy
    /// dropped the field): someone must assign the incident by hand.
    AssignmentNotApplied,
    /// An escalation was cancelled because the incident was handled in ServiceNow.
    Cancelled,
    /// A ringing call that should stop could not be hung up.
    HangUpFailures,
    /// ServiceNow's scheduled heartbeat reached the trigger (its absence raises an alarm).
    Heartbeats,
    /// A lineup source could not answer and the next one was used.
    LineupFallbacks,
    /// An incident came in and nobody could be called for it (no policy).
    NobodyToCall,
    /// The canary's synthetic escalation did not end accepted in time (1), or did (0).
    CanaryFailed,
    /// A text message was sent after an unanswered call.
    SmsSent,
    /// A text message after an unanswered call could not be stored or sent.
    SmsFailures,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::Attempts => "Attempts",
            Metric::Accepts => "Accepts",
            Metric::TimeToAccept => "TimeToAccept",
            Metric::Exhausted => "Exhausted",
            Metric::Declines => "Declines",
            Metric::TwilioErrors => "TwilioErrors",
            Metric::ServiceNowErrors => "ServiceNowErrors",
            Metric::DuplicatesDropped => "DuplicatesDropped",
            Metric::UnreadableEscalations => "UnreadableEscalations",
            Metric::DialFailures => "DialFailures",
            Metric::AssignmentNotApplied => "AssignmentNotApplied",
            Metric::Cancelled => "Cancelled",
            Metric::HangUpFailures => "HangUpFailures",
            Metric::Heartbeats => "Heartbeats",
            Metric::LineupFallbacks => "LineupFallbacks",
            Metric::NobodyToCall => "NobodyToCall",
            Metric::CanaryFailed => "CanaryFailed",
            Metric::SmsSent => "SmsSent",
            Metric::SmsFailures => "SmsFailures",
        }
    }

    pub fn is_milliseconds(self) -> bool {
        self == Metric::TimeToAccept
    }
}

pub trait Metrics: Send + Sync {
    /// Values about one incident (dimensions: its priority and group).
    fn incident(&self, incident: &Incident, values: &[(Metric, f64)]);
    /// A person passed an incident on and said why (dimensions: the incident's priority and
    /// the reason's label).
    fn declined(&self, incident: &Incident, reason: DeclineReason);
    /// A counter of one function (dimension: the function).
    fn count(&self, function: &str, metric: Metric, n: usize);
}

// ---------------------------------------------------------------------------------------
// The conference bridge (key 4 after accepting)

/// A call placed outside Studio (the person called into a bridge): Twilio fetches `url`
/// for its TwiML when they answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundCall {
    pub to: crate::model::E164,
    pub from: crate::model::E164,
    pub url: String,
    pub ring_timeout_secs: u32,
}

/// Places calls that run our own TwiML.
#[async_trait]
pub trait Calls: Send + Sync {
    /// The new call's SID.
    async fn place(&self, call: &OutboundCall) -> Result<String, TelephonyError>;
}

/// Checks the capability a bridge URL carries (written by the dialer for one attempt).
pub trait BridgeCapability: Send + Sync {
    fn verify(&self, escalation_id: &str, sys_id: &str, attempt: u32, capability: &str) -> bool;
}

/// The status callbacks of each bridge, kept until it ends.
#[async_trait]
pub trait BridgeLog: Send + Sync {
    /// Keep `event` of `conference`. `Ok(false)`: that sequence number was kept already.
    async fn record(
        &self,
        conference: &str,
        event: &crate::bridge::BridgeEvent,
    ) -> Result<bool, RepoError>;
    async fn events(&self, conference: &str) -> Result<Vec<crate::bridge::BridgeEvent>, RepoError>;
}
