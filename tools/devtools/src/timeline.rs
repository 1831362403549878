//! What the demos print: a live timeline per incident (who is called, with the number
//! masked, what they did, what was written to ServiceNow) and a summary, as text or as JSON
//! lines (`--json`), plus a progress line on stderr while waiting (only on a terminal).
//!
//! Used by both ways of running a scenario (`demo`, real Lambda binaries under
//! `cargo lambda watch`, and `demo --in-process`), so they read the same.

use escalation_core::escalation::{Escalation, Phase, Status};
use escalation_core::model::CallOutcome;
use escalation_fakes::servicenow::ServiceNowHandle;
use escalation_fakes::twilio::ExecutionRecord;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

pub mod html;
mod progress;
mod servicenow;

use progress::Progress;
pub use servicenow::{SnWrite, sn_incident, sn_writes};

/// A work note longer than this is shortened in the middle (text output only).
const NOTE_WIDTH: usize = 120;

/// How one incident ended, for the summary (and for tests).
#[derive(Clone, Debug, Serialize)]
pub struct IncidentResult {
    pub number: String,
    pub sys_id: String,
    /// HTTP status the trigger answered.
    pub trigger_status: u16,
    /// `None` if no escalation was started.
    pub status: Option<Status>,
    pub accepted_by: Option<String>,
    /// From the trigger to the key press that accepted.
    pub ms_to_accept: Option<u64>,
    /// From the trigger to the end of the last call.
    pub ms_to_outcome: Option<u64>,
    pub attempts: usize,
    /// Studio executions created for this incident.
    pub calls_placed: usize,
    /// The incident as ServiceNow has it at the end.
    pub sn_state: String,
    /// `user_name` of the assignee, if any.
    pub sn_assigned_to: Option<String>,
    pub sn_work_notes: usize,
    /// Whether this is the outcome the scenario promises.
    pub as_promised: bool,
}

/// What the whole run came to.
#[derive(Clone, Debug, Serialize)]
pub struct RunSummary {
    pub scenario: String,
    pub mode: String,
    pub expect: String,
    pub incidents: Vec<IncidentResult>,
    pub calls_placed: usize,
    /// Every incident ended as promised and nothing timed out.
    pub ok: bool,
    /// Why not, when the run did not finish.
    pub error: Option<String>,
}

#[derive(Default)]
struct Seen {
    /// Highest attempt announced as "calling".
    dialled: u32,
    /// Finished calls printed.
    calls: usize,
    /// ServiceNow writes printed.
    writes: usize,
}

/// The printer. Text goes to stdout as aligned lines; with `json`, one object per line.
pub struct Timeline {
    json: bool,
    /// Where lines go; stdout if `None`.
    out: Option<Box<dyn Write + Send>>,
    start: Instant,
    /// `start` as unix milliseconds, to place events the escalation timestamped itself.
    start_ms: u64,
    progress: Progress,
    seen: HashMap<String, Seen>,
    /// Everything shown, kept for the HTML page.
    page: html::Page,
}

impl Timeline {
    /// `progress`: draw the waiting line on stderr (it is drawn only if stderr is a terminal).
    pub fn new(json: bool, progress: bool) -> Self {
        Timeline {
            json,
            out: None,
            start: Instant::now(),
            start_ms: escalation_adapters::clock::now_ms(),
            progress: Progress::new(progress && std::io::stderr().is_terminal()),
            seen: HashMap::new(),
            page: html::Page::default(),
        }
    }

    /// Writes the timeline to `out` instead of stdout.
    pub fn with_output(mut self, out: Box<dyn Write + Send>) -> Self {
        self.out = Some(out);
        self
    }

    pub fn json(&self) -> bool {
        self.json
    }

    /// What the HTML page shows (everything printed so far).
    pub fn page(&self) -> &html::Page {
        &self.page
    }

    /// Time is shown relative to this moment (the first trigger of a scenario).
    pub fn restart_clock(&mut self) {
        self.start = Instant::now();
        self.start_ms = escalation_adapters::clock::now_ms();
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// The scenario's title (text only; JSON consumers get the name in the last line).
    pub fn title(&mut self, name: &str, description: &str, mode: &str) {
        self.page.title(name, description, mode);
        if self.json {
            self.emit(
                json!({"event": "scenario", "scenario": name, "mode": mode, "text": description}),
            );
        } else {
            self.line(format!("Scenario {name} ({mode}): {description}"));
        }
    }

    /// A step of bringing the stack up or down.
    pub fn stack(&mut self, text: &str) {
        if self.json {
            self.emit(json!({"event": "stack", "text": text}));
        } else {
            self.line(format!("==> {text}"));
        }
    }

    /// Updates the waiting line (stderr, terminals only, at most 10 times a second).
    pub fn waiting(&mut self, text: &str) {
        self.progress.draw(text);
    }

    /// Removes the waiting line.
    pub fn clear_waiting(&mut self) {
        self.progress.clear();
    }

    /// The answer the trigger gave the business rule's request sent at `sent_ms` (unix ms).
    pub fn trigger(
        &mut self,
        sent_ms: u64,
        number: &str,
        priority: &str,
        status: u16,
        body: &Value,
    ) {
        let text = if (200..300).contains(&status) {
            format!(
                "P{priority} raised → trigger answered {status}, escalation {}, first call: {}",
                body["escalation_id"].as_str().unwrap_or("?"),
                body["calling"].as_str().unwrap_or("nobody")
            )
        } else {
            format!(
                "P{priority} raised → trigger answered {status}: {}",
                body["error"].as_str().unwrap_or(&body.to_string())
            )
        };
        let t = self.event_at(
            Some(sent_ms),
            number,
            "trigger",
            text.clone(),
            json!({"status": status, "response": body}),
        );
        self.page.service_now(t, number, &text);
    }

    /// One turn of a call to the escalation line: what the caller heard, then what they
    /// did (`None`: the line hung up).
    pub fn phone(&mut self, who: &str, heard: &str, did: Option<&str>) {
        let text = match did {
            Some(d) => format!("hears \"{heard}\" → {d}"),
            None => format!("hears \"{heard}\" (the line hangs up)"),
        };
        let t = self.event_at(
            None,
            who,
            "inbound",
            text.clone(),
            json!({"heard": heard, "did": did}),
        );
        self.page.phone(t, who, &text);
    }

    /// A person changed `incident` in ServiceNow's UI (and what the cancel rule got back).
    pub fn servicenow_change(&mut self, incident: &str, text: &str) {
        let t = self.event_at(None, incident, "snow-ui", text.to_owned(), json!({}));
        self.page.service_now(t, incident, text);
    }

    /// Twilio was asked to hang up `name`'s call (`phone` masked) about `incident`.
    pub fn hang_up(&mut self, incident: &str, name: &str, phone: &str, text: &str) {
        let extra = json!({"agent": name, "phone": phone});
        let t = self.event_at(None, incident, "hangup", text.to_owned(), extra);
        self.page.hang_up(incident, name, phone, t, text);
    }

    /// A text message to or from a person (`who`, masked) about `incident`.
    pub fn sms(&mut self, incident: &str, who: &str, text: &str) {
        let t = self.event_at(None, incident, "sms", text.to_owned(), json!({"who": who}));
        self.page.phone(t, who, text);
    }

    /// Prints what happened to one incident since the last look: calls placed, calls
    /// ended (with the language the call spoke and the last words the person heard, from
    /// `calls`, the Twilio fake's executions), and writes ServiceNow received.
    pub fn observe(
        &mut self,
        number: &str,
        sys_id: &str,
        esc: Option<&Escalation>,
        sn: &ServiceNowHandle,
        calls: &[ExecutionRecord],
    ) {
        let mut seen = self.seen.remove(sys_id).unwrap_or_default();
        if let Some(esc) = esc {
            for h in esc.history().iter().skip(seen.calls) {
                let call = calls
                    .iter()
                    .find(|c| h.execution_sid.as_ref() == Some(&c.sid));
                // A call hung up because someone else of its ring-all step accepted is shown
                // once it is over, with what the person heard if they pressed meanwhile.
                let hung_up = matches!(h.outcome, CallOutcome::HungUp(_));
                if hung_up && call.is_some_and(|c| c.status == "active") {
                    break;
                }
                seen.calls += 1;
                let digit = h.outcome.digit().map(str::to_string);
                let ring_s = h.ended_at.saturating_sub(h.started_at) as f64 / 1000.0;
                let language = call.and_then(|c| c.parameters["language"].as_str());
                let last_words = call.and_then(|c| c.heard.last()).map(|w| w.text.as_str());
                let mut text = format!(
                    "attempt {}: {} {} — {}",
                    h.number,
                    h.name,
                    h.masked_phone,
                    h.outcome.describe()
                );
                if let Some(l) = language {
                    text.push_str(&format!(" [{l}]"));
                }
                if let Some(w) = last_words.filter(|_| h.outcome.digit().is_some() || hung_up) {
                    text.push_str(&format!(", hears \"{w}\""));
                }
                let t = self.event_at(
                    Some(h.ended_at),
                    number,
                    "call",
                    text,
                    json!({"attempt": h.number, "agent": h.name, "phone": h.masked_phone,
                        "list": h.list.label(), "outcome": h.outcome, "digit": digit,
                        "language": language, "last_heard": last_words,
                        "execution_sid": h.execution_sid, "ring_ms": h.ended_at.saturating_sub(h.started_at)}),
                );
                self.page.call(number, h, t - ring_s, t);
                seen.dialled = seen.dialled.max(h.number);
            }
            for a in esc.in_flight() {
                if a.phase != Phase::Calling || a.number <= seen.dialled {
                    continue;
                }
                let t = self.event_at(
                    Some(a.started_at),
                    number,
                    "dial",
                    format!(
                        "calling {} {} ({} {}, attempt {})",
                        a.person.name,
                        a.person.phone.masked(),
                        a.list.label(),
                        a.position + 1,
                        a.number
                    ),
                    json!({"attempt": a.number, "agent": a.person.name, "phone": a.person.phone.masked(),
                        "list": a.list.label(), "execution_sid": a.execution_sid}),
                );
                self.page.dial(
                    number,
                    &a.person.name,
                    &a.person.phone.masked(),
                    a.number,
                    t,
                );
                seen.dialled = a.number;
            }
        }
        let writes = sn_writes(sn, sys_id);
        for w in writes.iter().skip(seen.writes) {
            let text = w.text(sn);
            let t = self.event_at(None, number, "snow", text.clone(), w.json());
            self.page.service_now(t, number, &text);
        }
        seen.writes = writes.len();
        self.seen.insert(sys_id.to_string(), seen);
    }

    /// The summary block (text) or one `summary` line per incident and a `done` line (JSON).
    pub fn summary(&mut self, run: &RunSummary) {
        if !self.json {
            self.line(format!("Summary ({})", run.mode));
        }
        for r in &run.incidents {
            let text = summary_text(r);
            if self.json {
                let mut v = serde_json::to_value(r).unwrap_or_default();
                if let Value::Object(o) = &mut v {
                    o.insert("event".into(), json!("summary"));
                    o.insert("incident".into(), json!(r.number));
                    o.insert("text".into(), json!(text));
                }
                self.emit(v);
            } else {
                let mark = if r.as_promised {
                    ""
                } else {
                    "   <-- NOT what the scenario promises"
                };
                self.line(format!("  {:<11} {text}{mark}", r.number));
            }
        }
        let verdict = match (&run.error, run.ok) {
            (Some(e), _) => format!("did not finish: {e}"),
            (None, true) => format!("outcome as promised ({})", run.expect),
            (None, false) => format!("outcome NOT as promised ({})", run.expect),
        };
        if self.json {
            self.emit(
                json!({"event": "done", "scenario": run.scenario, "mode": run.mode,
                "calls_placed": run.calls_placed, "ok": run.ok, "error": run.error,
                "text": verdict}),
            );
        } else {
            self.line(format!(
                "  {} in all; {verdict}",
                plural(run.calls_placed, "call placed", "calls placed")
            ));
        }
    }

    /// An event at `at_ms` (unix ms) if the escalation recorded when it happened, else now.
    /// Returns its time in seconds since the start.
    fn event_at(
        &mut self,
        at_ms: Option<u64>,
        incident: &str,
        kind: &str,
        text: String,
        extra: Value,
    ) -> f64 {
        let t = match at_ms {
            Some(at) => at.saturating_sub(self.start_ms) as f64 / 1000.0,
            None => self.start.elapsed().as_secs_f64(),
        };
        if self.json {
            let mut v = json!({"t": (t * 1000.0).round() / 1000.0, "incident": incident, "event": kind, "text": text});
            if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
                for (k, x) in e {
                    o.entry(k).or_insert(x);
                }
            }
            self.emit(v);
        } else {
            self.line(format!("  +{t:6.2}s  {incident:<11} {kind:<8} {text}"));
        }
        t
    }

    fn emit(&mut self, v: Value) {
        self.line(v.to_string());
    }

    fn line(&mut self, text: String) {
        self.progress.clear();
        match &mut self.out {
            Some(out) => {
                let _ = writeln!(out, "{text}");
                let _ = out.flush();
            }
            // println!, so that a test's output is captured like any other.
            None => println!("{text}"),
        }
    }
}

impl Drop for Timeline {
    fn drop(&mut self) {
        self.progress.clear();
    }
}

pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `text` if short enough, else its beginning and its end (where a note says what
/// happens next) with "…" between.
fn elide(text: &str, width: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= width {
        return text.to_string();
    }
    let head = width * 2 / 5;
    let tail = width - head - 1;
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// ServiceNow's incident states by value.
pub fn state_label(state: &str) -> &str {
    match state {
        "1" => "New",
        "2" => "In Progress",
        "3" => "On Hold",
        "6" => "Resolved",
        "7" => "Closed",
        "8" => "Canceled",
        other => other,
    }
}

pub(crate) fn summary_text(r: &IncidentResult) -> String {
    let secs = |ms: Option<u64>| format!("{:.1} s", ms.unwrap_or(0) as f64 / 1000.0);
    let head = match r.status {
        None => format!("NOT STARTED (trigger answered {})", r.trigger_status),
        Some(Status::Accepted) => format!(
            "ACCEPTED by {} in {}",
            r.accepted_by.as_deref().unwrap_or("?"),
            secs(r.ms_to_accept)
        ),
        Some(Status::Exhausted) => {
            format!("EXHAUSTED after {}: nobody accepted", secs(r.ms_to_outcome))
        }
        Some(Status::Cancelled) => format!(
            "CANCELLED after {}: handled in ServiceNow",
            secs(r.ms_to_outcome)
        ),
        Some(Status::Active) => "still ACTIVE".to_string(),
    };
    let assignee = r
        .sn_assigned_to
        .as_deref()
        .map(|u| format!(", assigned to {u}"))
        .unwrap_or_default();
    format!(
        "{head} · {} · {} · ServiceNow: {}{assignee}, {}",
        plural(r.attempts, "attempt", "attempts"),
        plural(r.calls_placed, "call placed", "calls placed"),
        state_label(&r.sn_state),
        plural(r.sn_work_notes, "work note", "work notes"),
    )
}

#[cfg(test)]
mod tests;
