//! Plays a scenario (`scripts/scenarios/*.json`) on a running stack and tells how it went.
//!
//! The same loop drives both stacks through [`Driver`]: the local stack of real Lambda
//! binaries under `cargo lambda watch` ([`crate::local::LocalStack`]) and the in-process
//! stack of handlers ([`crate::inbound_support::InboundStack`]: [`crate::stack::Stack`]
//! plus voice-inbound's handler).

use crate::inbound_support::{LINE, Reply, call_params, recording_url, sms_params};
use crate::scenario::{InboundCall, Scenario, ScenarioIncident};
use crate::timeline::{IncidentResult, RunSummary, Timeline, sn_incident};
use escalation_core::escalation::{Escalation, Status};
use escalation_core::model::CallOutcome;
use escalation_fakes::servicenow::ServiceNowHandle;
use escalation_fakes::twilio::{ExecutionRecord, TwilioHandle};
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
    /// Sends the business rule's signed request for `inc`, already in ServiceNow as `sys_id`.
    async fn trigger(&self, sys_id: &str, inc: &ScenarioIncident) -> Result<(u16, Value), String>;
    /// Hands at most one batch from each event source to its function. True if any
    /// batch was delivered.
    async fn pump(&self) -> Result<bool, String>;
    /// One run of the sweeper.
    async fn sweep(&self) -> Result<(), String>;
    async fn escalation(&self, sys_id: &str) -> Result<Option<Escalation>, String>;
    /// Sends `body` to the trigger as the ServiceNow instance does (signed, JSON).
    async fn send_to_trigger(&self, body: &str) -> Result<(u16, Value), String>;
    /// Posts a Twilio webhook to voice-inbound, form-encoded and signed as Twilio signs
    /// it. `url`: a path on the function URL, or a URL the function handed out.
    async fn webhook(&self, url: &str, params: &[(&str, &str)]) -> Result<Reply, String> {
        let _ = (url, params);
        Err(format!(
            "the {} stack does not run voice-inbound; use --in-process",
            self.mode()
        ))
    }
}

/// A stable sys_id for an incident number (32 hex digits), so scenarios never collide.
pub fn sys_id_for(number: &str) -> String {
    crate::fixture::hex_id(number)
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
    if let Some(oncall) = &sc.oncall {
        oncall.apply(d.sn());
    }
    sc.apply_twilio(d.twilio());
    tl.restart_clock();
    let mut incidents = Vec::new();
    for (n, call) in sc.calls.iter().enumerate() {
        let (sys_id, number) = phone_in(d, n, call, tl).await?;
        incidents.push((sys_id, number, 201));
    }
    for inc in &sc.incidents {
        if inc.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(inc.delay_ms)).await;
        }
        let sys_id = sys_id_for(&inc.number);
        d.sn()
            .add_incident(&sys_id, &inc.number, &inc.short_description, &inc.priority);
        let sent_ms = escalation_adapters::clock::now_ms();
        let (status, body) = d.trigger(&sys_id, inc).await?;
        tl.trigger(sent_ms, &inc.number, &inc.priority, status, &body);
        incidents.push((sys_id, inc.number.clone(), status));
    }

    let deadline = Instant::now() + timeout;
    let mut next_sweep = Instant::now() + SWEEP_EVERY;
    let mut error = None;
    let mut texts = Texts::default();
    let mut changes = crate::play_changes::Changes::new(sc);
    loop {
        let busy = d.pump().await?;
        texts.play(d, sc, tl).await?;
        changes.play(d, sc, tl, &incidents).await?;
        if Instant::now() >= next_sweep {
            d.sweep().await?;
            next_sweep = Instant::now() + SWEEP_EVERY;
        }
        let mut all_done = true;
        let mut waiting_on = Vec::new();
        let calls = d.twilio().executions();
        for (sys_id, number, status) in &incidents {
            let esc = d.escalation(sys_id).await?;
            tl.observe(number, sys_id, esc.as_ref(), d.sn(), &calls);
            match &esc {
                Some(e) if !e.status().is_terminal() => {
                    all_done = false;
                    waiting_on.push(match e.current() {
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
        let quiet = texts.pending.is_empty() && changes.done();
        if all_done && !busy && !calls_active && quiet {
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
    if let Some(bridge) = &sc.bridge
        && error.is_none()
        && let Err(e) = crate::play_bridge::play_bridges(d, bridge, tl, &incidents).await
    {
        error = Some(e);
    }

    let executions = d.twilio().executions();
    let mut results = Vec::new();
    let mut ended = Vec::new();
    for (sys_id, number, trigger_status) in incidents {
        let esc = d.escalation(&sys_id).await?;
        ended.extend(esc.clone());
        let (sn_state, sn_assigned_to) = sn_incident(d.sn(), &sys_id);
        let status = esc.as_ref().map(|e| e.status());
        let accepted_by = esc
            .as_ref()
            .filter(|e| e.status() == Status::Accepted)
            .and_then(|e| e.accepted_by().map(str::to_string));
        let as_promised = match (sc.expect.as_str(), status) {
            (_, None) => false,
            ("TERMINAL", Some(s)) => s.is_terminal(),
            (want, Some(s)) => serde_json::to_value(s).is_ok_and(|v| v == want),
        } && sc
            .incidents
            .iter()
            .find(|i| i.number == number)
            .and_then(|i| i.accepted_by.as_ref())
            .or(sc.accepted_by.as_ref())
            .is_none_or(|who| accepted_by.as_ref() == Some(who))
            && sc.started_note_contains.as_ref().is_none_or(|text| {
                d.sn()
                    .work_notes(&sys_id)
                    .first()
                    .is_some_and(|n| n.contains(text.as_str()))
            });
        let accepted = esc.as_ref().and_then(|e| {
            e.history()
                .iter()
                .find(|h| h.outcome == CallOutcome::Accepted)
                .map(|h| h.ended_at.saturating_sub(e.created_at()))
                // Accepted by a reply to a text: when the reply was applied.
                .or_else(|| {
                    (e.status() == Status::Accepted)
                        .then(|| e.updated_at().saturating_sub(e.created_at()))
                })
        });
        results.push(IncidentResult {
            calls_placed: executions
                .iter()
                .filter(|x| x.parameters["sys_id"].as_str() == Some(sys_id.as_str()))
                .count(),
            sn_work_notes: d.sn().work_notes(&sys_id).len(),
            trigger_status,
            status,
            accepted_by,
            ms_to_accept: accepted,
            ms_to_outcome: esc.as_ref().and_then(|e| {
                e.history()
                    .last()
                    .map(|h| h.ended_at)
                    .or(e.cancelled().map(|c| c.at))
                    .map(|at| at.saturating_sub(e.created_at()))
            }),
            attempts: esc.as_ref().map_or(0, |e| e.history().len()),
            sn_state,
            sn_assigned_to,
            as_promised,
            number,
            sys_id,
        });
    }
    let calls_placed = results.iter().map(|r| r.calls_placed).sum();
    if error.is_none() {
        error = wrong_language(sc, &executions);
    }
    if error.is_none() {
        error = sc.broken_call_promise(&ended, &executions);
    }
    if error.is_none() && sc.bridge.is_some() {
        let bridged = results
            .iter()
            .filter(|r| {
                d.sn()
                    .work_notes(&r.sys_id)
                    .iter()
                    .filter(|n| n.contains("Conference bridge") && n.contains("ended after"))
                    .count()
                    == 1
            })
            .count();
        if bridged == 0 {
            error = Some("no incident got exactly one \"bridge ended\" work note".into());
        }
    }
    let run = RunSummary {
        scenario: name.to_string(),
        mode: d.mode().to_string(),
        expect: sc.promise(),
        ok: error.is_none()
            && results.iter().all(|r| r.as_promised)
            && sc.calls_placed.is_none_or(|n| n == calls_placed)
            && sc.calls_hung_up.is_none_or(|n| {
                let hung_up = d.twilio().hang_ups();
                n == hung_up.iter().filter(|h| h.ended_a_live_call()).count()
            }),
        calls_placed,
        incidents: results,
        error,
    };
    Ok(run)
}

/// The texts the Twilio fake sent, shown on the timeline, and the scenario's replies to
/// them, posted to voice-inbound's SMS webhook when due.
#[derive(Default)]
struct Texts {
    shown: usize,
    /// (when, from, body, incident number)
    pending: Vec<(Instant, String, String, String)>,
    sent: u64,
}

impl Texts {
    async fn play<D: Driver>(
        &mut self,
        d: &D,
        sc: &Scenario,
        tl: &mut Timeline,
    ) -> Result<(), String> {
        let masked = |p: &str| escalation_core::model::phone::mask(p);
        let all = d.twilio().messages();
        for m in all.iter().skip(self.shown) {
            let incident = m.body.split_whitespace().next().unwrap_or("").to_owned();
            tl.sms(
                &incident,
                &masked(&m.to),
                &format!("text to {}: \"{}\"", masked(&m.to), m.body),
            );
            if let Some(r) = sc.sms_replies.get(&m.to) {
                let at = Instant::now() + Duration::from_millis(r.after_ms);
                self.pending
                    .push((at, m.to.clone(), r.body.clone(), incident));
            }
        }
        self.shown = all.len();
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| p.0 <= now);
        self.pending = later;
        for (_, from, body, incident) in due {
            self.sent += 1;
            let sid = format!("SM{:032x}", 0x5e_0000 + self.sent);
            let params = sms_params(&sid, &from, crate::fixture::FROM_NUMBER, &body);
            let reply = d.webhook("/sms", &params).await?;
            let answer = reply.texts("Message").join(" ");
            tl.sms(
                &incident,
                &masked(&from),
                &format!("{} replies \"{body}\" → \"{answer}\"", masked(&from)),
            );
        }
        Ok(())
    }
}

/// A call to a person of `sc.languages` that did not speak their language, if any.
fn wrong_language(sc: &Scenario, executions: &[ExecutionRecord]) -> Option<String> {
    for (phone, language) in &sc.languages {
        let calls = executions.iter().filter(|x| &x.to == phone);
        for call in calls {
            let spoke = call.parameters["language"].as_str().unwrap_or("");
            let heard_other = call.heard.iter().find(|h| &h.language != language);
            if spoke != language || call.heard.is_empty() || heard_other.is_some() {
                return Some(format!(
                    "a call to {} spoke {spoke:?}, not {language:?}{}",
                    escalation_core::model::E164::parse(phone)
                        .map(|p| p.masked())
                        .unwrap_or_default(),
                    heard_other
                        .map(|h| format!(" (heard {:?} in {:?})", h.text, h.language))
                        .unwrap_or_default()
                ));
            }
        }
    }
    None
}

/// One call to the escalation line, as Twilio would make it: the caller picks "report",
/// the team, leaves a message and confirms; then Twilio's transcription arrives. Returns
/// the incident ServiceNow created for the call (sys_id, number).
async fn phone_in<D: Driver>(
    d: &D,
    n: usize,
    call: &InboundCall,
    tl: &mut Timeline,
) -> Result<(String, String), String> {
    let call_sid = format!("CA{:032x}", 0xca11_0000 + n);
    let rec = format!("RE{:032x}", 0x2ec0_0000 + n);
    let url = recording_url(&rec);
    let secs = call.message_secs.to_string();
    let caller = escalation_core::model::E164::parse(&call.from)
        .map_err(|e| e.to_string())?
        .masked();
    let params = |extra: &[(&'static str, &str)]| -> Vec<(String, String)> {
        call_params(&call_sid, &call.from, LINE, extra)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let step = |reply: &Reply| -> Result<String, String> {
        reply.try_action().ok_or_else(|| {
            format!(
                "the line ended the call early (HTTP {}): {}",
                reply.status,
                reply.said()
            )
        })
    };
    async fn post<D: Driver>(d: &D, url: &str, p: Vec<(String, String)>) -> Result<Reply, String> {
        let pairs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        d.webhook(url, &pairs).await
    }
    let who = format!("call from {caller}");
    let menu = post(d, "/voice", params(&[])).await?;
    tl.phone(&who, &menu.said(), Some("1"));
    let teams = post(d, &step(&menu)?, params(&[("Digits", "1")])).await?;
    tl.phone(&who, &teams.said(), Some(&call.team));
    let record = post(d, &step(&teams)?, params(&[("Digits", &call.team)])).await?;
    let transcribe = record
        .attrs("Record", "transcribeCallback")
        .into_iter()
        .next();
    // The prompt before <Record> (what follows it is said only if nothing was recorded).
    let prompt = record.texts("Say").into_iter().next().unwrap_or_default();
    tl.phone(&who, &prompt, Some(&format!("a {secs} s message, then #")));
    let confirm = post(
        d,
        &step(&record)?,
        params(&[
            ("RecordingSid", &rec),
            ("RecordingUrl", &url),
            ("RecordingDuration", &secs),
            ("Digits", "#"),
        ]),
    )
    .await?;
    tl.phone(&who, &confirm.said(), Some("1"));
    let done = post(d, &step(&confirm)?, params(&[("Digits", "1")])).await?;
    tl.phone(&who, &done.said(), None);
    let incident = d
        .sn()
        .incidents_where("correlation_id", &call_sid)
        .into_iter()
        .next()
        .ok_or_else(|| format!("no incident was created for the call: {}", done.said()))?;
    let text = |k: &str| {
        incident
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (sys_id, number) = (text("sys_id"), text("number"));
    if let (Some(cb), Some(words)) = (transcribe, &call.transcript) {
        let reply = post(
            d,
            &cb,
            params(&[
                ("RecordingSid", &rec),
                ("RecordingUrl", &url),
                ("TranscriptionSid", &format!("TR{:032x}", 0x7c00_0000 + n)),
                ("TranscriptionStatus", "completed"),
                ("TranscriptionText", words),
                ("CallStatus", "completed"),
            ]),
        )
        .await?;
        if reply.status != 200 {
            return Err(format!(
                "the transcription callback got HTTP {}",
                reply.status
            ));
        }
    }
    Ok((sys_id, number))
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
            assert!(escalation_core::model::SysId::is_valid(id), "{id}");
        }
    }
}
