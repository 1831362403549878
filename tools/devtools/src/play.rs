//! Plays a scenario (`scripts/scenarios/*.json`) on a running stack and tells how it went.
//!
//! The same loop drives both stacks through [`Driver`]: the local stack of real Lambda
//! binaries under `cargo lambda watch` ([`crate::local::LocalStack`]) and the in-process
//! stack of handlers ([`crate::stack::Stack`]).

use crate::scenario::Scenario;
use crate::stack::Stack;
use crate::timeline::{IncidentResult, RunSummary, Timeline, sn_incident};
use escalation::domain::{CallOutcome, Escalation, Status};
use escalation_fakes::servicenow::ServiceNowHandle;
use escalation_fakes::twilio::TwilioHandle;
use serde_json::Value;
use std::time::{Duration, Instant};

/// How often the sweeper runs (EventBridge schedule stand-in).
pub const SWEEP_EVERY: Duration = Duration::from_secs(2);

/// What a stack must offer to play a scenario on it.
#[allow(async_fn_in_trait)] // used with concrete types only
pub trait Driver {
    /// Shown in the title and summary.
    fn mode(&self) -> &'static str;
    fn sn(&self) -> &ServiceNowHandle;
    fn twilio(&self) -> &TwilioHandle;
    /// Sends the business rule's signed request for an incident already in ServiceNow.
    async fn trigger(
        &self,
        sys_id: &str,
        number: &str,
        short_description: &str,
        priority: &str,
    ) -> Result<(u16, Value), String>;
    /// Hands at most one batch from each event source to its function. True if any
    /// batch was delivered.
    async fn pump(&self) -> Result<bool, String>;
    /// One run of the sweeper.
    async fn sweep(&self) -> Result<(), String>;
    async fn escalation(&self, sys_id: &str) -> Result<Option<Escalation>, String>;
}

/// A stable sys_id for an incident number (32 hex digits), so scenarios never collide.
pub fn sys_id_for(number: &str) -> String {
    let mut id: String = number.bytes().map(|b| format!("{b:02x}")).collect();
    id.truncate(32);
    format!("{id:0<32}")
}

/// Raises the scenario's incidents, drives the stack until every escalation has ended (or
/// `timeout`), printing the timeline as it goes, and returns the summary (for
/// [`Timeline::summary`]).
pub async fn play<D: Driver>(
    d: &D,
    name: &str,
    sc: &Scenario,
    tl: &mut Timeline,
    timeout: Duration,
) -> Result<RunSummary, String> {
    tl.title(name, &sc.description, d.mode());
    for (phone, steps) in &sc.agents {
        d.twilio().script(phone, steps.clone());
    }
    tl.restart_clock();
    let mut incidents = Vec::new();
    for inc in &sc.incidents {
        let sys_id = sys_id_for(&inc.number);
        d.sn()
            .add_incident(&sys_id, &inc.number, &inc.short_description, &inc.priority);
        let sent_ms = escalation::clock::now_ms();
        let (status, body) = d
            .trigger(&sys_id, &inc.number, &inc.short_description, &inc.priority)
            .await?;
        tl.trigger(sent_ms, &inc.number, &inc.priority, status, &body);
        incidents.push((sys_id, inc.number.clone(), status));
    }

    let deadline = Instant::now() + timeout;
    let mut next_sweep = Instant::now() + SWEEP_EVERY;
    let mut error = None;
    loop {
        let busy = d.pump().await?;
        if Instant::now() >= next_sweep {
            d.sweep().await?;
            next_sweep = Instant::now() + SWEEP_EVERY;
        }
        let mut all_done = true;
        let mut waiting_on = Vec::new();
        for (sys_id, number, status) in &incidents {
            let esc = d.escalation(sys_id).await?;
            tl.observe(number, sys_id, esc.as_ref(), d.sn());
            match &esc {
                Some(e) if !e.status.is_terminal() => {
                    all_done = false;
                    waiting_on.push(match &e.current {
                        Some(a) => {
                            format!("{number}: calling {} (attempt {})", a.person.name, a.number)
                        }
                        None => format!("{number}: next call"),
                    });
                }
                // The trigger refused: nothing will ever happen to this incident.
                None if (200..300).contains(status) => all_done = false,
                _ => {}
            }
        }
        let calls_active = d.twilio().executions().iter().any(|e| e.status == "active");
        if all_done && !busy && !calls_active {
            break;
        }
        if Instant::now() >= deadline {
            error = Some(format!(
                "the scenario did not finish within {} s",
                timeout.as_secs()
            ));
            break;
        }
        if !busy {
            let what = if waiting_on.is_empty() {
                "writing to ServiceNow".to_string()
            } else {
                waiting_on.join(", ")
            };
            tl.waiting(&format!("{:5.1} s  {what}", tl.elapsed().as_secs_f64()));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    tl.clear_waiting();

    let executions = d.twilio().executions();
    let mut results = Vec::new();
    for (sys_id, number, trigger_status) in incidents {
        let esc = d.escalation(&sys_id).await?;
        let (sn_state, sn_assigned_to) = sn_incident(d.sn(), &sys_id);
        let status = esc.as_ref().map(|e| e.status);
        let as_promised = match (sc.expect.as_str(), status) {
            (_, None) => false,
            ("TERMINAL", Some(s)) => s.is_terminal(),
            (want, Some(s)) => serde_json::to_value(s).is_ok_and(|v| v == want),
        };
        let accepted = esc.as_ref().and_then(|e| {
            e.history
                .iter()
                .find(|h| h.outcome == CallOutcome::Accepted)
                .map(|h| h.ended_at.saturating_sub(e.created_at))
        });
        results.push(IncidentResult {
            calls_placed: executions
                .iter()
                .filter(|x| x.parameters["sys_id"].as_str() == Some(sys_id.as_str()))
                .count(),
            sn_work_notes: d.sn().work_notes(&sys_id).len(),
            trigger_status,
            status,
            accepted_by: esc
                .as_ref()
                .filter(|e| e.status == Status::Accepted)
                .and_then(|e| e.accepted_by.clone()),
            ms_to_accept: accepted,
            ms_to_outcome: esc.as_ref().and_then(|e| {
                e.history
                    .last()
                    .map(|h| h.ended_at.saturating_sub(e.created_at))
            }),
            attempts: esc.as_ref().map_or(0, |e| e.history.len()),
            sn_state,
            sn_assigned_to,
            as_promised,
            number,
            sys_id,
        });
    }
    let run = RunSummary {
        scenario: name.to_string(),
        mode: d.mode().to_string(),
        expect: sc.expect.clone(),
        ok: error.is_none() && results.iter().all(|r| r.as_promised),
        calls_placed: results.iter().map(|r| r.calls_placed).sum(),
        incidents: results,
        error,
    };
    Ok(run)
}

/// The in-process stack: the same handlers, called as functions.
impl Driver for Stack {
    fn mode(&self) -> &'static str {
        "in-process handlers"
    }

    fn sn(&self) -> &ServiceNowHandle {
        &self.sn
    }

    fn twilio(&self) -> &TwilioHandle {
        &self.twilio
    }

    async fn trigger(
        &self,
        sys_id: &str,
        number: &str,
        short_description: &str,
        priority: &str,
    ) -> Result<(u16, Value), String> {
        Ok(Stack::trigger(self, sys_id, number, short_description, priority).await)
    }

    async fn pump(&self) -> Result<bool, String> {
        let k = self.pump_kinesis().await.is_some();
        let s = self.pump_sqs().await.is_some();
        Ok(k || s)
    }

    async fn sweep(&self) -> Result<(), String> {
        self.app
            .sweep(escalation::clock::now_ms())
            .await
            .map(|_| ())
            .map_err(|e| format!("sweep: {e}"))
    }

    async fn escalation(&self, sys_id: &str) -> Result<Option<Escalation>, String> {
        Ok(Stack::escalation(self, sys_id).await.map(|s| s.escalation))
    }
}

#[cfg(test)]
mod tests {
    use super::sys_id_for;

    #[test]
    fn every_incident_number_gets_its_own_sys_id() {
        let a = sys_id_for("INC0010001");
        let b = sys_id_for("INC0010004");
        assert_ne!(a, b);
        for id in [&a, &b, &sys_id_for("INC00100010001000100010001")] {
            assert_eq!(id.len(), 32, "{id}");
            assert!(escalation::servicenow::is_sys_id(id), "{id}");
        }
    }
}
