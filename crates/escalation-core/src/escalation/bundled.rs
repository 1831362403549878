//! An attempt that waits in a bundle (one call about several incidents for one person),
//! and the bundle call it was placed in.

use super::{Escalation, Ignored, Phase};
use crate::bundle::BundleTag;
use crate::model::ExecutionSid;

impl Escalation {
    /// Attempt `attempt` waits in bundle `tag` until `until`: nobody dials it alone before
    /// then (the bundle's closer places its call with the others'). Refused when the
    /// attempt is no longer waiting to be dialled or another dialer holds it.
    pub fn await_bundle(
        &mut self,
        attempt: u32,
        tag: &BundleTag,
        until: u64,
        now: u64,
    ) -> Result<(), Ignored> {
        let a = self.live_attempt(attempt)?;
        if a.phase != Phase::Dialing {
            return Err(Ignored::NotDialing { attempt });
        }
        if let Some(until) = a.dial_lease_until.filter(|u| *u > now) {
            return Err(Ignored::Leased { attempt, until });
        }
        a.bundle = Some(tag.clone());
        a.not_before = Some(until);
        self.s.updated_at = now;
        Ok(())
    }

    /// The bundle call `sid`, about `incidents` (in the order it reads them), was placed
    /// for attempt `attempt`: recorded as its call (DIALING → CALLING), with the bundle
    /// named on the attempt so that its end, and anything that would hang it up, knows the
    /// call is shared; the attempt's time starts again (its ring is judged from now).
    pub fn record_bundle_call(
        &mut self,
        attempt: u32,
        sid: &ExecutionSid,
        bundle_id: &str,
        incidents: &[String],
        now: u64,
    ) -> Result<(), Ignored> {
        self.record_execution(attempt, sid, now)?;
        let a = self.live_attempt(attempt)?;
        let opener = a.bundle.as_ref().is_some_and(|t| t.opener);
        a.bundle = Some(BundleTag {
            id: bundle_id.to_string(),
            opener,
            incidents: if incidents.len() > 1 {
                incidents.to_vec()
            } else {
                Vec::new()
            },
            found: false,
        });
        // The call's own time starts now: the wait in the bundle is not ringing time (the
        // sweeper judges an overdue call from here).
        a.started_at = now;
        Ok(())
    }

    /// A call found again for attempt `attempt` (adopted after a lost answer or a dead
    /// dialer) is recorded as its call; an attempt that waited in a bundle may have been
    /// placed in a bundle call, so its call is treated as shared from then on.
    pub fn adopt_execution(
        &mut self,
        attempt: u32,
        sid: &ExecutionSid,
        now: u64,
    ) -> Result<(), Ignored> {
        self.record_execution(attempt, sid, now)?;
        let a = self.live_attempt(attempt)?;
        if let Some(tag) = &mut a.bundle {
            tag.found = true;
            a.started_at = now;
        }
        Ok(())
    }
}
