//! The canary: a synthetic escalation that calls a test number through the real path and
//! must end accepted. Its incident is a marker, never a ServiceNow record: its sys_id starts
//! with [`CANARY_SYS_ID_PREFIX`] (a prefix no generated ServiceNow sys_id has in practice),
//! and the decorators here drop everything the engine would send about it: its updates are
//! never queued ([`CanaryFilteredOutbox`]) and its outcome metrics are never published
//! ([`CanaryFilteredMetrics`], so a failed canary does not raise the "nobody accepted"
//! alarm; the canary reports `CanaryFailed` itself).

use crate::model::{DeclineReason, Incident, SysId};
use crate::ports::{Metric, Metrics, Outbox, OutboxError};
use crate::update::IncidentUpdate;
use std::sync::Arc;

/// The first 20 hex digits of every canary incident's sys_id; the last 12 are the run's
/// start in seconds (hex), so each run is a new escalation.
pub const CANARY_SYS_ID_PREFIX: &str = "00000000ca4a470000ca";

/// The incident number the canary call reads out.
pub const CANARY_NUMBER: &str = "CANARY";

/// Whether an incident is the canary's marker.
pub fn is_canary(sys_id: &SysId) -> bool {
    sys_id.as_str().starts_with(CANARY_SYS_ID_PREFIX)
}

/// The marker incident of the run that starts at `now_ms`.
pub fn canary_incident(now_ms: u64) -> Incident {
    let secs = (now_ms / 1000) & 0xffff_ffff_ffff;
    Incident {
        sys_id: SysId::parse(&format!("{CANARY_SYS_ID_PREFIX}{secs:012x}"))
            .expect("a canary sys_id is 32 hex digits"),
        number: CANARY_NUMBER.into(),
        short_description: "Canary call: press 1 to accept".into(),
        priority: "1".into(),
        assignment_group: None,
        assignment_group_name: Some("Canary".into()),
    }
}

/// An outbox that drops the canary's updates and passes every other one on.
pub struct CanaryFilteredOutbox(pub Arc<dyn Outbox>);

#[async_trait::async_trait]
impl Outbox for CanaryFilteredOutbox {
    async fn enqueue(&self, updates: &[IncidentUpdate]) -> Result<(), OutboxError> {
        let real: Vec<IncidentUpdate> = updates
            .iter()
            .filter(|u| !is_canary(&u.sys_id))
            .cloned()
            .collect();
        if real.is_empty() {
            return Ok(());
        }
        self.0.enqueue(&real).await
    }
}

/// Metrics that leave out the canary's incident metrics and pass every other one on.
pub struct CanaryFilteredMetrics(pub Arc<dyn Metrics>);

impl Metrics for CanaryFilteredMetrics {
    fn incident(&self, incident: &Incident, values: &[(Metric, f64)]) {
        if !is_canary(&incident.sys_id) {
            self.0.incident(incident, values);
        }
    }
    fn declined(&self, incident: &Incident, reason: DeclineReason) {
        if !is_canary(&incident.sys_id) {
            self.0.declined(incident, reason);
        }
    }
    fn count(&self, function: &str, metric: Metric, n: usize) {
        self.0.count(function, metric, n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_run_has_its_own_marker_and_real_ids_are_not_canaries() {
        let a = canary_incident(1_795_255_331_000);
        let b = canary_incident(1_795_341_731_000);
        assert_ne!(a.sys_id, b.sys_id);
        assert!(is_canary(&a.sys_id) && is_canary(&b.sys_id));
        assert_eq!(a.sys_id.as_str().len(), 32);
        let real = SysId::parse("ef43c6d40a0a0b5700c77f9bf387afe3").unwrap();
        assert!(!is_canary(&real));
    }
}
