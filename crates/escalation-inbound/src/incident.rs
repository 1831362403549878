//! ServiceNow side of the inbound line: create the incident once per call or text, start
//! the normal escalation for it (`Engine::start`, the same engine and state as the business
//! rule's trigger), and queue work notes.
//!
//! Exactly one incident per Twilio call or message: incidents carry the CallSid or
//! MessageSid in `correlation_id`. Before creating, we look for it; a mark
//! ([`Mark::Creating`]) stops two webhooks of the same call from creating at the same time
//! (the loser waits for the winner's incident to appear).
//!
//! Notes on an incident that exists go through the same update queue as the engine's, each
//! with a key of its own ([`note_key`]), so a repeated webhook never writes a note twice.

use crate::config::{Group, Line};
use crate::state::{Admitted, CallState};
use crate::{Inbound, MARK_TTL_SECS};
use escalation_core::model::{EscalationId, Incident, Person};
use escalation_core::ports::{
    IncidentFields, IncidentRecord, Mark, OutboxError, RepoError, ServiceNowError,
};
use escalation_core::time::format_utc;
use escalation_core::update::IncidentUpdate;
use serde_json::Value;
use std::time::Duration;

/// `correlation_display` of every incident the inbound line creates. A business rule that
/// should not also trigger an escalation for them can test for it.
pub const CORRELATION_DISPLAY: &str = "phone-escalation-inbound";

/// How long a webhook waits for `Engine::start` (storage, the update queue, the telephony
/// side).
const ESCALATION_START_BUDGET: Duration = Duration::from_secs(4);

/// The escalation id the inbound line's notes carry (no escalation wrote them).
pub const NOTE_ESCALATION_ID: &str = "inbound";

/// The idempotency keys of the inbound line's notes: one per note, derived from the Twilio
/// SIDs of the webhook that writes it, so a repeated webhook queues the same key again and
/// the updater writes the note once.
pub mod note_key {
    /// "The caller recorded a message" on an incident filed already.
    pub fn recording(recording_sid: &str) -> String {
        format!("inbound:{recording_sid}:recording")
    }
    /// "The call between … ended after …" for person `index` of the put-through `call`.
    pub fn call_ended(call_sid: &str, index: usize) -> String {
        format!("inbound:{call_sid}:{index}:ended")
    }
    /// The transcription of a recording (or why there is none).
    pub fn transcription(recording_sid: &str) -> String {
        format!("inbound:{recording_sid}:transcription")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    #[error(transparent)]
    ServiceNow(#[from] ServiceNowError),
    #[error(transparent)]
    Store(#[from] RepoError),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error("no answer within {0:?} (ServiceNow, the marks or the update queue)")]
    Timeout(Duration),
}

/// What the incident is about.
#[derive(Clone, Debug)]
pub enum Source<'a> {
    /// A recorded report (menu 1), or a message left after nobody answered (`tried` set).
    Recording {
        url: &'a str,
        secs: u32,
        tried: Option<Vec<String>>,
    },
    /// The caller was put through to `person`.
    Connected { person: &'a Person, leg: &'a str },
    /// A text message.
    Sms { text: &'a str },
}

/// One report to file.
#[derive(Clone, Debug)]
pub struct Report<'a> {
    pub line: &'a Line,
    pub group: &'a Group,
    /// The Twilio CallSid or MessageSid: the incident's `correlation_id`.
    pub correlation: &'a str,
    pub caller: &'a CallState,
    pub source: Source<'a>,
}

/// Whether the normal escalation was started for a new incident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Escalated {
    Started,
    /// The incident's priority does not escalate (`ESCALATE_PRIORITIES`).
    NotForPriority(String),
    Failed(String),
}

fn truncate(text: &str, max: usize) -> String {
    let t: String = text.chars().take(max).collect();
    if text.chars().count() > max {
        format!("{}…", t.trim_end())
    } else {
        t
    }
}

impl Inbound {
    /// Run ServiceNow work within the configured budget (Twilio waits 15 s at most).
    pub async fn within_budget<R>(
        &self,
        work: impl std::future::Future<Output = Result<R, InboundError>>,
    ) -> Result<R, InboundError> {
        let budget = self.config.servicenow_budget;
        tokio::time::timeout(budget, work)
            .await
            .map_err(|_| InboundError::Timeout(budget))?
    }

    fn who(report: &Report<'_>) -> String {
        report
            .caller
            .who
            .clone()
            .unwrap_or_else(|| "Unidentified caller".into())
    }

    fn short_description(report: &Report<'_>) -> String {
        let who = Self::who(report);
        let text = match &report.source {
            Source::Recording { tried: None, .. } => {
                format!("Phone report from {who} for {}", report.group.name)
            }
            Source::Recording { tried: Some(_), .. } => {
                format!(
                    "Phone message from {who} for {} (nobody answered)",
                    report.group.name
                )
            }
            Source::Connected { person, .. } => {
                format!(
                    "Phone call from {who} put through to {} ({})",
                    person.name, report.group.name
                )
            }
            Source::Sms { text } => format!(
                "SMS from {who}: {}",
                truncate(&text.split_whitespace().collect::<Vec<_>>().join(" "), 80)
            ),
        };
        truncate(&text, 160)
    }

    fn description(&self, report: &Report<'_>) -> String {
        let line = report.line;
        let caller = report.caller;
        let how = caller.admitted.map_or("not identified", Admitted::describe);
        let mut d = vec![
            format!(
                "Reported {} the {} ({}).",
                if matches!(report.source, Source::Sms { .. }) {
                    "by text message to"
                } else {
                    "by phone to"
                },
                line.name,
                line.number.masked()
            ),
            format!(
                "Caller: {}, {} ({how}).",
                Self::who(report),
                caller.caller_masked.as_deref().unwrap_or("number withheld")
            ),
            format!("Team: {}.", report.group.name),
        ];
        match &report.source {
            Source::Recording { url, secs, tried } => {
                if let Some(tried) = tried {
                    d.push(format!(
                        "The caller asked to be put through; nobody answered (tried: {}).",
                        if tried.is_empty() {
                            "nobody was available".to_string()
                        } else {
                            tried.join(", ")
                        }
                    ));
                }
                d.push(format!("Recorded message ({secs} s): {url}"));
                d.push("A transcription follows as a work note when Twilio delivers it.".into());
                d.push(format!("Twilio call: {}", report.correlation));
            }
            Source::Connected { person, leg } => {
                d.push(format!(
                    "The caller was put through to {} ({}) at {}.",
                    person.name,
                    person.phone.masked(),
                    format_utc(self.clock.now_ms())
                ));
                d.push(format!("Twilio call: {} (leg {leg})", report.correlation));
            }
            Source::Sms { text } => {
                d.push(format!("Message:\n{}", truncate(text, 1600)));
                d.push(format!("Twilio message: {}", report.correlation));
            }
        }
        d.join("\n")
    }

    /// The caller's sys_user, from the state (found by phone) or the roster's `sn_user`.
    async fn caller_sys_id(&self, caller: &CallState) -> Option<String> {
        if let Some(id) = &caller.caller_sys_id {
            return Some(id.clone());
        }
        let user = caller.caller_user.as_deref()?;
        match self.directory.resolve_user(user).await {
            Ok(found) => found.map(String::from),
            Err(e) => {
                tracing::warn!(error = %e, "could not resolve the caller's ServiceNow user; caller_id left empty");
                None
            }
        }
    }

    async fn fields(&self, report: &Report<'_>) -> IncidentFields {
        let t = &report.group.incident;
        let mut f = IncidentFields::new();
        for (k, v) in &t.fields {
            f.insert(k.clone(), Value::String(v.clone()));
        }
        let mut set = |k: &str, v: String| {
            f.insert(k.to_string(), Value::String(v));
        };
        set("short_description", Self::short_description(report));
        set("description", self.description(report));
        set("impact", t.impact.clone());
        set("urgency", t.urgency.clone());
        set("correlation_id", report.correlation.to_string());
        set("correlation_display", CORRELATION_DISPLAY.to_string());
        if !matches!(report.source, Source::Sms { .. }) {
            set("contact_type", "phone".to_string());
        }
        if let Some(g) = &report.group.assignment_group {
            set("assignment_group", g.clone());
        }
        if let Some(id) = self.caller_sys_id(report.caller).await {
            f.insert("caller_id".into(), Value::String(id));
        }
        if let Source::Connected { person, .. } = &report.source {
            f.insert("state".into(), Value::String("2".into()));
            if let Some(user) = &person.sn_user {
                match self.directory.resolve_user(user).await {
                    Ok(Some(id)) => {
                        f.insert("assigned_to".into(), Value::String(id.into()));
                    }
                    Ok(None) => {
                        tracing::warn!(person = %person.name, "no active ServiceNow user for sn_user; assigned_to left empty")
                    }
                    Err(e) => {
                        tracing::warn!(person = %person.name, error = %e, "could not resolve sn_user; assigned_to left empty")
                    }
                }
            }
            f.insert(
                "work_notes".into(),
                Value::String(format!(
                    "{} was put through to {} ({}) by the {}.",
                    Self::who(report),
                    person.name,
                    person.phone.masked(),
                    report.line.name
                )),
            );
        }
        f
    }

    /// The incident for this call or message: found by `correlation_id`, or created.
    /// Returns it and whether this call created it.
    pub async fn ensure_incident(
        &self,
        report: &Report<'_>,
    ) -> Result<(IncidentRecord, bool), InboundError> {
        let sn = &self.directory;
        let claimed = self
            .within_budget(async {
                if let Some(found) = sn.find_incident_by_correlation(report.correlation).await? {
                    return Ok(Err(found));
                }
                let mark = Mark::Creating(report.correlation.to_string());
                Ok(Ok(self.marks.put(&mark, MARK_TTL_SECS).await?))
            })
            .await?;
        let mine = match claimed {
            Err(found) => return Ok((found, false)),
            Ok(mine) => mine,
        };
        if !mine {
            // Another webhook of this call is creating it. It started no later than this
            // one and gives up within the ServiceNow budget: wait that long (and a little)
            // for its incident to appear, and create only if it never does (it died).
            let deadline = tokio::time::Instant::now()
                + self.config.servicenow_budget
                + Duration::from_secs(1);
            while tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(300)).await;
                if let Some(found) = sn.find_incident_by_correlation(report.correlation).await? {
                    return Ok((found, false));
                }
            }
            tracing::warn!(
                correlation = report.correlation,
                "another request marked this incident as being created but none appeared within its budget; creating it"
            );
        }
        self.within_budget(async {
            let fields = self.fields(report).await;
            let created = sn.create_incident(&fields).await?;
            tracing::info!(incident = %created.number, correlation = report.correlation,
                group = %report.group.name, "incident created by the inbound line");
            Ok((created, true))
        })
        .await
    }

    /// Hand a new incident to the normal escalation (same engine and state as the business
    /// rule's trigger); only the priorities the engine escalates (`ESCALATE_PRIORITIES`) do.
    pub async fn escalate(&self, record: &IncidentRecord, report: &Report<'_>) -> Escalated {
        if !self.engine.escalates(&record.priority) {
            tracing::info!(incident = %record.number, priority = %record.priority,
                "priority does not escalate; no calls");
            return Escalated::NotForPriority(record.priority.clone());
        }
        let incident = Incident {
            sys_id: record.sys_id.clone(),
            number: record.number.clone(),
            short_description: Self::short_description(report),
            priority: record.priority.clone(),
            assignment_group: report.group.assignment_group.clone(),
            assignment_group_name: Some(report.group.name.clone()),
        };
        let started =
            tokio::time::timeout(ESCALATION_START_BUDGET, self.engine.start(incident)).await;
        let Ok(started) = started else {
            // If the escalation got stored, its first call is pending and the sweeper places it.
            return match self.engine.find(&record.sys_id).await {
                Ok(Some(_)) => {
                    tracing::warn!(incident = %record.number,
                        "starting the escalation took too long; it is stored and the sweeper places the first call");
                    Escalated::Started
                }
                _ => {
                    tracing::error!(incident = %record.number, "starting the escalation timed out before it was stored");
                    Escalated::Failed("timed out before the escalation was stored".into())
                }
            };
        };
        match started {
            Ok((stored, new)) => {
                tracing::info!(incident = %record.number, escalation_id = %stored.escalation.id(), new,
                    "escalation started for the inbound incident");
                Escalated::Started
            }
            Err(e) => {
                tracing::error!(incident = %record.number, error = %e,
                    "could not start the escalation for the inbound incident");
                Escalated::Failed(e.to_string())
            }
        }
    }

    /// Queue a work note for `record` under `key` (one of [`note_key`]): the updater writes
    /// it, once per key, in order with the engine's notes.
    pub async fn note(
        &self,
        record: &IncidentRecord,
        key: String,
        text: &str,
    ) -> Result<(), InboundError> {
        let update = IncidentUpdate::note(
            key,
            record.sys_id.clone(),
            &record.number,
            EscalationId::new(NOTE_ESCALATION_ID),
            text.to_string(),
        );
        self.within_budget(async {
            self.outbox.enqueue(&[update]).await?;
            Ok(())
        })
        .await
    }
}
