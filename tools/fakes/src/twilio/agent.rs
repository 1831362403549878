//! The simulated agents: what the person called does during an execution (scripted per
//! phone number), and the end of the execution that follows from it: the flow is walked
//! with the person's keys ([`super::walk`]).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::Inner;
use super::events::{EXECUTION_ENDED, EXECUTION_SCHEMA, STEP_ENDED, STEP_SCHEMA};
use super::executions::Status;
use super::walk::{Call, walk};
use crate::util::{self, iso_millis, iso_seconds, lock, now_ms};

/// Name of the outgoing-call widget in the shipped flow.
pub const CALL_WIDGET: &str = "call_agent";
/// How long the HTTP Request widget waits for its endpoint (Studio: 10 s).
pub const HTTP_WIDGET_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// Name of the gather widget in the shipped flow.
pub const GATHER_WIDGET: &str = "gather_digit";

/// What the called agent does during one execution.
///
/// JSON form: `{"action": "press", "digit": "1", "after_ms": 200}`, `{"action": "no-answer"}`...
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "action")]
pub enum AgentStep {
    /// Answers (human) and presses `digit`.
    Press {
        digit: String,
        #[serde(default)]
        after_ms: u64,
    },
    /// Answers (human) and presses `keys` one at a time, one per prompt that gathers a
    /// key (`"*1"`: hear everything again, then accept; `"91"`: the full description, then
    /// accept); when the keys run out, the prompt times out.
    Keys {
        keys: String,
        #[serde(default)]
        after_ms: u64,
    },
    /// Answers (human), presses nothing; the gather times out.
    Hangup {
        #[serde(default)]
        after_ms: u64,
    },
    /// Does not answer (`CallStatus: no-answer`).
    NoAnswer {
        #[serde(default)]
        after_ms: u64,
    },
    /// Line busy (`CallStatus: busy`).
    Busy {
        #[serde(default)]
        after_ms: u64,
    },
    /// Call fails (`CallStatus: failed`).
    Failed {
        #[serde(default)]
        after_ms: u64,
    },
    /// Voicemail picks up (`AnsweredBy: machine_start` when the flow detects answering
    /// machines; otherwise the mailbox hears the flow and presses nothing).
    Machine {
        #[serde(default)]
        after_ms: u64,
    },
}

impl AgentStep {
    /// Delay before the execution ends with this outcome.
    pub fn after_ms(&self) -> u64 {
        match self {
            AgentStep::Press { after_ms, .. }
            | AgentStep::Keys { after_ms, .. }
            | AgentStep::Hangup { after_ms }
            | AgentStep::NoAnswer { after_ms }
            | AgentStep::Busy { after_ms }
            | AgentStep::Failed { after_ms }
            | AgentStep::Machine { after_ms } => *after_ms,
        }
    }

    /// The keys pressed, one per prompt that gathers a key.
    pub(super) fn keys(&self) -> Vec<String> {
        match self {
            AgentStep::Press { digit, .. } => vec![digit.clone()],
            AgentStep::Keys { keys, .. } => keys.chars().map(String::from).collect(),
            _ => Vec::new(),
        }
    }
}

pub(super) struct Script {
    pub(super) steps: Vec<AgentStep>,
    pub(super) next: usize,
}

impl Inner {
    /// Ends an active execution with its scripted outcome (the agent acted).
    pub(super) async fn finish(&self, sid: &str, wait_for_delivery: bool) -> Option<Value> {
        let (ack_tx, ack_rx) = oneshot::channel();
        let definition = self.flow_definition();
        // The walk runs outside the lock: an HTTP Request widget waits for its endpoint,
        // which may itself call this fake.
        let (outcome, call_sid, to, from, data) = {
            let st = lock(&self.state);
            let e = st.find(sid).filter(|e| e.status == Status::Active)?;
            let outcome = e
                .outcome
                .clone()
                .unwrap_or(AgentStep::NoAnswer { after_ms: 0 });
            (
                outcome,
                e.call_sid.clone(),
                e.to.clone(),
                e.from.clone(),
                e.parameters.clone(),
            )
        };
        let execution_sid = sid.to_owned();
        let walked = tokio::task::spawn_blocking(move || {
            walk(
                &definition,
                &outcome,
                &Call {
                    execution_sid: &execution_sid,
                    http_timeout: HTTP_WIDGET_TIMEOUT,
                    sid: &call_sid,
                    to: &to,
                    from: &from,
                    data: &data,
                },
            )
        })
        .await
        .ok()?;
        let ended = {
            let mut guard = lock(&self.state);
            // Ended meanwhile (by the engine, or another finish): this walk is void. A call
            // the engine hung up while the person was in the flow keeps what they heard.
            {
                let e = guard.find_mut(sid)?;
                if e.status != Status::Active {
                    if matches!(e.ended_by, Some("api" | "hangup")) && e.heard.is_empty() {
                        e.heard = walked.heard;
                    }
                    return None;
                }
            }
            self.close(
                &mut guard,
                sid,
                Closing {
                    widgets: walked.widgets,
                    variables: walked.variables,
                    heard: walked.heard,
                    redirected_to: walked.redirected_to,
                    last: walked.last,
                    ended_by: "agent",
                },
                Some(ack_tx),
            )?
        };
        if wait_for_delivery {
            let _ = ack_rx.await;
        }
        Some(ended)
    }
}

/// How an active execution ends: what its widgets did, and who ended it.
pub(super) struct Closing {
    pub(super) widgets: serde_json::Map<String, Value>,
    pub(super) variables: serde_json::Map<String, Value>,
    pub(super) heard: Vec<super::walk::Heard>,
    pub(super) redirected_to: Option<String>,
    /// (widget, event, widget type) of the last transition.
    pub(super) last: (String, String, String),
    /// `"agent"`, `"hangup"`.
    pub(super) ended_by: &'static str,
}

impl Inner {
    /// Ends the active execution `sid` as `how` says, with its last step, and emits
    /// `step.ended` and `execution.ended`; the ended event (`ack`: told once delivered).
    pub(super) fn close(
        &self,
        st: &mut super::executions::Sim,
        sid: &str,
        how: Closing,
        ack: Option<oneshot::Sender<()>>,
    ) -> Option<Value> {
        let now = now_ms();
        let e = st.find_mut(sid).filter(|e| e.status == Status::Active)?;
        e.status = Status::Ended;
        e.updated_ms = now;
        e.ended_by = Some(how.ended_by);
        e.widgets = Some(Value::Object(how.widgets));
        e.variables = how.variables;
        e.heard = how.heard;
        e.redirected_to = how.redirected_to;
        let (widget, name, widget_type) = how.last;
        let step_sid = util::sid("FT");
        let step_url = format!("{}/Steps/{step_sid}", self.execution_url(sid));
        e.steps.push(json!({
            "sid": step_sid,
            "account_sid": self.cfg.account_sid,
            "flow_sid": self.cfg.flow_sid,
            "execution_sid": sid,
            "parent_step_sid": null,
            "name": name,
            "context": {},
            "transitioned_from": widget,
            "transitioned_to": "Ended",
            "type": widget_type,
            "date_created": iso_seconds(now),
            "date_updated": iso_seconds(now),
            "url": step_url,
            "links": {"step_context": format!("{step_url}/Context")},
        }));
        let step_data = json!({
            "account_sid": self.cfg.account_sid,
            "execution_sid": sid,
            "flow_sid": self.cfg.flow_sid,
            "step_sid": step_sid,
            "parent_step_sid": null,
            "name": name,
            "transitioned_from": widget,
            "transitioned_to": "Ended",
            "date_created": iso_millis(now),
        });
        let end_data = self.execution_event_data(e);
        let step_source = format!("{}/Steps/{step_sid}", self.source(sid));
        self.emit(
            st,
            sid,
            (STEP_ENDED, step_source, STEP_SCHEMA, step_data),
            None,
        );
        Some(self.emit(
            st,
            sid,
            (
                EXECUTION_ENDED,
                self.source(sid),
                EXECUTION_SCHEMA,
                end_data,
            ),
            ack,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_steps_serde() {
        let steps: Vec<AgentStep> = serde_json::from_str(
            r#"[{"action":"press","digit":"1","after_ms":5},{"action":"no-answer"},{"action":"machine"}]"#,
        )
        .expect("valid steps");
        assert_eq!(
            steps,
            vec![
                AgentStep::Press {
                    digit: "1".into(),
                    after_ms: 5
                },
                AgentStep::NoAnswer { after_ms: 0 },
                AgentStep::Machine { after_ms: 0 },
            ]
        );
        assert_eq!(
            serde_json::to_value(AgentStep::Hangup { after_ms: 0 }).expect("serializes"),
            json!({"action": "hangup", "after_ms": 0})
        );
    }
}
