//! What happens in ServiceNow and on the phones beside the calls while a scenario plays:
//! people changing incidents in the instance's UI (`servicenow_changes`: the cancel rule's
//! signed request then goes to the trigger, as the instance would send it), and the calls
//! Twilio was asked to hang up (the fake's record of `Status=completed` requests), both on
//! the timeline.

use crate::play::Driver;
use crate::scenario::Scenario;
use crate::timeline::Timeline;
use serde_json::Value;
use std::time::{Duration, Instant};

/// The scenario's UI changes still to make, and the hang-ups already shown.
pub struct Changes {
    /// (when, index into `servicenow_changes`)
    pending: Vec<(Instant, usize)>,
    hang_ups_shown: usize,
    /// The stack is given until then to write what the last change caused (the cancel's
    /// note is queued while the loop looks elsewhere).
    settle_until: Instant,
}

/// How long the player keeps pumping after a change.
const SETTLE_AFTER_CHANGE: Duration = Duration::from_secs(2);

impl Changes {
    /// Each change falls due `after_ms` from now (the incidents were just raised).
    pub fn new(sc: &Scenario) -> Self {
        let now = Instant::now();
        Changes {
            pending: sc
                .servicenow_changes
                .iter()
                .enumerate()
                .map(|(i, c)| (now + Duration::from_millis(c.after_ms), i))
                .collect(),
            hang_ups_shown: 0,
            settle_until: now,
        }
    }

    /// Every change has been made, and what it caused had time to be written.
    pub fn done(&self) -> bool {
        self.pending.is_empty() && Instant::now() >= self.settle_until
    }

    /// Makes the changes that are due and shows new hang-ups. `incidents`: (sys_id,
    /// number, trigger status) of the scenario's incidents.
    pub async fn play<D: Driver>(
        &mut self,
        d: &D,
        sc: &Scenario,
        tl: &mut Timeline,
        incidents: &[(String, String, u16)],
    ) -> Result<(), String> {
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        self.pending = later;
        for (_, i) in due {
            self.settle_until = Instant::now() + SETTLE_AFTER_CHANGE;
            let change = &sc.servicenow_changes[i];
            let sys_id = incidents
                .iter()
                .find(|(_, number, _)| *number == change.incident)
                .map(|(id, _, _)| id.clone())
                .ok_or_else(|| format!("servicenow_changes: no incident {}", change.incident))?;
            let mut fields = change.fields.clone();
            if let Some(Value::String(user)) = fields.get_mut("assigned_to") {
                *user = crate::fixture::user_sys_id(user);
            }
            let saved = Value::Object(fields);
            let said = match d.sn().change_from_ui(&sys_id, &saved, &change.by) {
                None => "the cancel rule sends nothing".to_owned(),
                Some(body) => {
                    let (status, answer) = d.send_to_trigger(&body.to_string()).await?;
                    format!(
                        "cancel rule → trigger answered {status} {}{}",
                        answer["status"].as_str().unwrap_or(""),
                        answer["hung_up"]
                            .as_str()
                            .map(|who| format!(", hanging up {who}'s call"))
                            .unwrap_or_default()
                    )
                }
            };
            let what = describe(&change.fields);
            tl.servicenow_change(
                &change.incident,
                &format!("{} {what} in ServiceNow; {said}", change.by),
            );
        }
        self.show_hang_ups(d, tl, incidents);
        Ok(())
    }

    fn show_hang_ups<D: Driver>(
        &mut self,
        d: &D,
        tl: &mut Timeline,
        incidents: &[(String, String, u16)],
    ) {
        let all = d.twilio().hang_ups();
        let executions = d.twilio().executions();
        for h in all.iter().skip(self.hang_ups_shown) {
            let exec = executions
                .iter()
                .find(|e| Some(&e.sid) == h.execution_sid.as_ref());
            let param = |k: &str| {
                exec.and_then(|e| e.parameters[k].as_str())
                    .unwrap_or("")
                    .to_owned()
            };
            let number = incidents
                .iter()
                .find(|(id, _, _)| *id == param("sys_id"))
                .map(|(_, n, _)| n.clone())
                .unwrap_or_else(|| param("incident_number"));
            let name = param("agent_name");
            let phone = escalation_core::model::phone::mask(&h.to);
            let text = if h.ended_a_live_call() {
                format!(
                    "{name}'s call ({phone}) hung up while {} (Status={})",
                    if h.was == "in-progress" {
                        "on the line"
                    } else {
                        "ringing"
                    },
                    h.requested
                )
            } else {
                format!("{name}'s call ({phone}) had already ended ({})", h.now)
            };
            tl.hang_up(&number, &name, &phone, &text);
        }
        self.hang_ups_shown = all.len();
    }
}

/// "assigns it to bob.agent", "sets state 6", in words.
fn describe(fields: &serde_json::Map<String, Value>) -> String {
    let parts: Vec<String> = fields
        .iter()
        .map(|(k, v)| {
            let v = v
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| v.to_string());
            match k.as_str() {
                "assigned_to" => format!("assigns it to {v}"),
                "state" => format!("sets it {}", crate::timeline::state_label(&v)),
                "priority" => format!("sets priority {v}"),
                other => format!("sets {other} {v}"),
            }
        })
        .collect();
    parts.join(", ")
}
