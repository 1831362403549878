//! `escalation-canary`: on its schedule, one synthetic escalation through the real path:
//! the escalation is stored and its first call handed to the dial queue exactly as the
//! trigger does, the dialer places it through the Studio flow, the test number's answering
//! TwiML presses 1, and flow-events (or the sweeper) records the acceptance. The canary
//! waits for that within its bound and publishes `CanaryFailed`: 0 when the escalation ended
//! ACCEPTED in time, 1 otherwise (nobody pressed 1, the call failed, or the bound passed; a
//! call still going at the bound is ended). Its incident is a marker
//! ([`escalation_core::canary`]): nothing about it is ever queued for ServiceNow.

use escalation_core::canary::{CANARY_NUMBER, canary_incident};
use escalation_core::escalation::{Cancel, CancelReason, Status};
use escalation_core::ports::{Clock, Metric, Metrics};
use escalation_core::usecase::Engine;
use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct Canary {
    /// The engine with the canary's lineup (the test number only, no redials, one round)
    /// whose first calls go to the dial queue.
    pub engine: Engine,
    /// Where `CanaryFailed` goes (unfiltered: the canary's own metric).
    pub metrics: Arc<dyn Metrics>,
    pub clock: Arc<dyn Clock>,
    pub timeout: Duration,
    /// How often the escalation is read while waiting.
    pub poll: Duration,
}

/// What one canary run found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CanaryReport {
    /// The marker incident's sys_id.
    pub incident: String,
    /// ACCEPTED, EXHAUSTED, ... or `TIMED_OUT` / `NOT_STARTED`.
    pub outcome: String,
    pub failed: bool,
    pub waited_ms: u64,
}

impl Canary {
    /// The scheduled event's content does not matter.
    pub async fn handle(
        &self,
        _event: LambdaEvent<Value>,
    ) -> Result<CanaryReport, lambda_runtime::Error> {
        Ok(self.run().await)
    }

    pub async fn run(&self) -> CanaryReport {
        let started = tokio::time::Instant::now();
        let incident = canary_incident(self.clock.now_ms());
        let sys_id = incident.sys_id.clone();
        let outcome = match self.engine.start(incident.clone()).await {
            Err(e) => {
                tracing::error!(error = %e, "canary: the escalation could not be started");
                "NOT_STARTED".to_string()
            }
            Ok(_) => self.wait(&sys_id, started).await,
        };
        let failed = outcome != "ACCEPTED";
        let waited_ms = started.elapsed().as_millis() as u64;
        self.metrics.incident(
            &incident,
            &[(Metric::CanaryFailed, if failed { 1.0 } else { 0.0 })],
        );
        if failed {
            tracing::error!(%outcome, waited_ms, number = CANARY_NUMBER, "canary FAILED: the test call did not end accepted in time");
        } else {
            tracing::info!(waited_ms, "canary passed: the test call was accepted");
        }
        CanaryReport {
            incident: sys_id.to_string(),
            outcome,
            failed,
            waited_ms,
        }
    }

    async fn wait(
        &self,
        sys_id: &escalation_core::model::SysId,
        started: tokio::time::Instant,
    ) -> String {
        loop {
            match self.engine.find(sys_id).await {
                Ok(Some(s)) if s.escalation.status().is_terminal() => {
                    return status_name(s.escalation.status());
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "canary: reading the escalation failed"),
            }
            if started.elapsed() >= self.timeout {
                let cancel = Cancel {
                    reason: CancelReason::Canceled,
                    detail: Some("canary bound passed".into()),
                    by: Some("escalation-canary".into()),
                    at: self.clock.now_ms(),
                };
                if let Err(e) = self.engine.cancel(sys_id, cancel).await {
                    tracing::warn!(error = %e, "canary: the late call could not be ended");
                }
                return "TIMED_OUT".into();
            }
            tokio::time::sleep(self.poll).await;
        }
    }
}

fn status_name(status: Status) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{status:?}").to_uppercase())
}
