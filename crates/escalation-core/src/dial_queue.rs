//! The dial queue port: calls handed to the dialer (re-exported from `ports`).

use crate::model::{EscalationId, SysId};
use crate::ports::OutboxError;
use async_trait::async_trait;

// ---------------------------------------------------------------------------------------
// The dial queue

/// A call to be placed: the current attempt of an escalation, named by its incident and
/// number. Whoever takes it loads the escalation and places the call only if that attempt
/// is still due (the lease keeps it to one call however often it is asked for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialRequest {
    pub sys_id: SysId,
    pub escalation_id: EscalationId,
    pub attempt: u32,
}

/// Calls handed to the dialer, so that whoever asks for one (the trigger, answering
/// ServiceNow) never waits for the call rate.
#[async_trait]
pub trait DialQueue: Send + Sync {
    async fn request(&self, dial: &DialRequest) -> Result<(), OutboxError>;
    /// Deliver `dial` to the dialer no earlier than `delay_secs` from now (at most 900).
    async fn request_after(&self, dial: &DialRequest, delay_secs: u32) -> Result<(), OutboxError>;
}
