//! What the sweeper must do about an escalation whose flow-end event may be lost.

use super::{Escalation, Phase};
use crate::model::ExecutionSid;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SweepAction {
    /// The current attempt was written as DIALING but no call is recorded: place it.
    Dial,
    /// The call should have ended by now: ask about it.
    CheckExecution {
        attempt: u32,
        sid: ExecutionSid,
        overdue_ms: u64,
    },
}

impl Escalation {
    /// Whether the sweeper must step in (the first attempt in flight that needs it; the
    /// other calls of a ring-all step are looked at on later sweeps): an attempt written as DIALING and never placed
    /// (after `grace_ms`, or once its busy wait is over), or a call that should have ended
    /// (ring timeout + `grace_ms`) without its flow-end event being applied.
    pub fn sweep_action(&self, now: u64, grace_ms: u64) -> Option<SweepAction> {
        if self.status().is_terminal() {
            return None;
        }
        self.in_flight()
            .find_map(|a| match (&a.phase, &a.execution_sid) {
                (Phase::Dialing, _) => {
                    // Never while another dialer's lease runs: it may be placing the call.
                    let due = a
                        .not_before
                        .unwrap_or(a.started_at + grace_ms)
                        .max(a.dial_lease_until.unwrap_or(0));
                    (now >= due).then_some(SweepAction::Dial)
                }
                (Phase::Calling, Some(sid)) => {
                    let due = a.started_at
                        + u64::from(
                            a.person
                                .ring_timeout_secs
                                .unwrap_or(self.policy().ring_timeout_secs),
                        ) * 1000
                        + grace_ms;
                    (now >= due).then(|| SweepAction::CheckExecution {
                        attempt: a.number,
                        sid: sid.clone(),
                        overdue_ms: now - due,
                    })
                }
                (Phase::Calling, None) => Some(SweepAction::Dial),
            })
    }
}
