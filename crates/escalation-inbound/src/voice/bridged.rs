//! A put-through call as a conference bridge (with the bridge configured: live-call
//! routing). The caller waits on the line while the team's person is called through the
//! Calls API; the person hears who is calling and presses a key, which opens and
//! acknowledges the incident (assigned to them, In Progress) and joins them to a conference
//! named after the call; the caller's next poll joins the caller too. The conference's
//! status callbacks are kept once each (by `SequenceNumber`, the outbound bridge's log);
//! at its end a work note says how long the call was and who was on it for how long.
//!
//! ```text
//! caller:  Calling Bob. ── /voice/bridge-wait (every POLL_SECS) ─┬─ taken: <Dial><Conference>
//!                                                               └─ not in time: the next person
//! Bob:     Calls API ── /voice/bridge-whisper ── /voice/bridge-key: incident, <Dial><Conference>
//! Twilio:  /voice/bridge-status: start, join, leave, end ── the end note
//! ```
//!
//! Twilio does not tell the caller's leg how the person's call went, so the line waits the
//! ring time plus the whisper time and then moves on ("did not take the call").

use super::lost;
use crate::bridge::BridgePorts;
use crate::config::{Group, Line};
use crate::incident::{Report, Source};
use crate::state::CallState;
use crate::twiml::{Conference, VoiceResponse};
use crate::{Inbound, MARK_TTL_SECS, Webhook, is_twilio_sid, speech, spell};
use escalation_core::bridge::{self, BridgeEventKind};
use escalation_core::model::Person;
use escalation_core::ports::{Mark, OutboundCall};
use escalation_core::time::human_duration;

/// Seconds between the waiting caller's checks whether the person took the call.
pub const POLL_SECS: u32 = 3;
/// Seconds beyond ring and whisper time before the caller is offered to someone else.
const MARGIN_SECS: u32 = 6;

/// The conference of one put-through call (named after the caller's call).
fn conference_name(caller_call: &str) -> String {
    format!("put-through-{caller_call}")
}

fn polls_for(line: &Line) -> u8 {
    let secs = line.live.ring_timeout_secs + line.live.whisper_timeout_secs + MARGIN_SECS;
    u8::try_from(secs.div_ceil(POLL_SECS)).unwrap_or(u8::MAX)
}

/// The note at the end of a bridged put-through call.
fn ended_note(conference: &str, summary: &bridge::BridgeSummary) -> String {
    let who: Vec<String> = summary
        .participants
        .iter()
        .map(|(name, ms)| format!("{name} {}", human_duration(*ms)))
        .collect();
    format!(
        "The put-through call (conference {conference}) ended after {}. On the call: {}.",
        human_duration(summary.duration_ms),
        if who.is_empty() {
            "nobody".to_owned()
        } else {
            who.join(", ")
        }
    )
}

impl Inbound {
    /// The bridge, when put-through calls are to become conferences.
    pub(super) fn put_through_bridge(&self) -> Option<&BridgePorts> {
        self.bridge.as_ref().filter(|b| b.put_through)
    }

    /// Call `person` through the Calls API and keep the caller waiting. `Err(lead)`: the
    /// call could not be placed; the lead says so and the next person is tried.
    pub(super) async fn ring_into_bridge(
        &self,
        ports: &BridgePorts,
        hook: &Webhook,
        line: &Line,
        dialling: &CallState,
        person: &Person,
        say: String,
    ) -> Result<VoiceResponse, String> {
        let mut whisper = dialling.clone();
        whisper.parent = Some(hook.param("CallSid").to_string());
        whisper.line = Some(line.number.as_str().to_string());
        let call = OutboundCall {
            to: person.phone.clone(),
            from: line.number.clone(),
            url: hook.url("/voice/bridge-whisper", &whisper),
            ring_timeout_secs: line.live.ring_timeout_secs,
        };
        let leg = ports.calls.place(&call).await.map_err(|e| {
            tracing::warn!(call = hook.param("CallSid"), to = %person.phone.masked(), error = %e,
                "put-through bridge: the person could not be called");
            format!("{} could not be reached. ", person.name)
        })?;
        let mut waiting = dialling.clone();
        waiting.leg = Some(leg).filter(|l| is_twilio_sid(l));
        waiting.polls = 0;
        Ok(VoiceResponse::new()
            .say(&speech(line), say)
            .pause(POLL_SECS)
            .redirect(hook.url("/voice/bridge-wait", &waiting)))
    }

    /// The waiting caller's check: join the conference once the person took the call,
    /// wait on, or move on to the next person.
    pub(super) async fn bridge_wait(&self, hook: &Webhook, line: &Line) -> VoiceResponse {
        let sp = speech(line);
        let state = &hook.state;
        let call = hook.param("CallSid");
        let Some((index, group, person)) = self.called_person(line, state).await else {
            return lost(&sp, "bridge wait without a person");
        };
        if !is_twilio_sid(call) {
            return lost(&sp, "bridge wait without a CallSid");
        }
        // The slot of this person on this call is decided once: taken by their key, or
        // given up here, whichever comes first.
        let slot = Mark::CallTaken {
            parent: call.to_string(),
            index,
        };
        let join = || {
            tracing::info!(call, to = %person.phone.masked(), "put-through bridge: joining the caller");
            let mut status = state.step();
            status.parent = Some(call.to_string());
            status.line = Some(line.number.as_str().to_string());
            VoiceResponse::new()
                .say(
                    &sp,
                    format!("{} took the call. Connecting you now.", person.name),
                )
                .conference(Conference {
                    name: conference_name(call),
                    status_callback: hook.url("/voice/bridge-status", &status),
                    end_on_exit: true,
                })
        };
        if self.marks.has(&slot).await.unwrap_or(false) {
            return join();
        }
        if state.polls < polls_for(line) {
            let mut again = state.step();
            again.polls = state.polls.saturating_add(1);
            return VoiceResponse::new()
                .pause(POLL_SECS)
                .redirect(hook.url("/voice/bridge-wait", &again));
        }
        if let Ok(false) = self.marks.put(&slot, MARK_TTL_SECS).await {
            // Their key came just now.
            return join();
        }
        tracing::info!(call, to = %person.phone.masked(), team = %group.name,
            "put-through bridge: not taken in time; trying the next person");
        let mut next = state.step();
        next.leg = None;
        next.polls = 0;
        let lead = format!("{} did not take the call. ", person.name);
        Box::pin(self.dial_next(hook, line, &next, index + 1, Some(lead))).await
    }

    /// The person's key: the incident is opened for them (acknowledged), and they join the
    /// conference.
    pub(super) async fn bridge_key(&self, hook: &Webhook, line: &Line) -> VoiceResponse {
        let sp = speech(line);
        let state = &hook.state;
        let parent = state.parent.as_deref().filter(|p| is_twilio_sid(p));
        let (Some(parent), Some((index, group, person))) =
            (parent, self.called_person(line, state).await)
        else {
            return lost(&sp, "bridge key without the caller's call");
        };
        if hook.param("Digits").is_empty() {
            return super::goodbye(&sp, "No key was pressed.");
        }
        let taken = Mark::CallTaken {
            parent: parent.to_string(),
            index,
        };
        match self.marks.put(&taken, MARK_TTL_SECS).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(call = parent, to = %person.phone.masked(), "put-through bridge: too late, the caller was offered to someone else");
                return super::goodbye(
                    &sp,
                    "Sorry, the caller has already been offered to someone else.",
                );
            }
            Err(e) => {
                tracing::warn!(call = parent, error = %e, "could not record that the call was taken")
            }
        }
        tracing::info!(call = parent, to = %person.phone.masked(), "put-through bridge: the person took the call");
        let report = Report {
            line,
            group,
            correlation: parent,
            caller: state,
            source: Source::Connected {
                person: &person,
                leg: hook.param("CallSid"),
            },
        };
        let say = match self.ensure_incident(&report).await {
            Ok((record, _)) => format!(
                "Connecting you now. Incident {} is open for this call.",
                spell(&record.number)
            ),
            Err(e) => {
                tracing::error!(call = parent, error = %e, "could not create the incident for the bridged call");
                "Connecting you now. The incident could not be created automatically, so please record this call in ServiceNow.".to_owned()
            }
        };
        let mut status = state.step();
        status.leg = Some(hook.param("CallSid").to_string()).filter(|l| is_twilio_sid(l));
        VoiceResponse::new().say(&sp, say).conference(Conference {
            name: conference_name(parent),
            status_callback: hook.url("/voice/bridge-status", &status),
            end_on_exit: true,
        })
    }

    /// The conference's status callbacks: each kept once; at the end, the note.
    pub(super) async fn bridge_status(&self, hook: &Webhook, line: &Line) -> VoiceResponse {
        let state = &hook.state;
        let conference = hook.param("ConferenceSid");
        let (Some(ports), Some(kind)) = (
            self.bridge.as_ref(),
            BridgeEventKind::from_twilio(hook.param("StatusCallbackEvent")),
        ) else {
            return VoiceResponse::new();
        };
        let parent = state.parent.as_deref().filter(|p| is_twilio_sid(p));
        let (Some(parent), true) = (parent, is_twilio_sid(conference)) else {
            tracing::warn!("put-through bridge: a status callback without its calls");
            return VoiceResponse::new();
        };
        let Some(events) = self
            .keep_callback(ports, conference, kind, hook, "put-through bridge")
            .await
        else {
            return VoiceResponse::new();
        };
        let Some((_, group, person)) = self.called_person(line, state).await else {
            return VoiceResponse::new();
        };
        let caller = state.who.clone().unwrap_or_else(|| "the caller".into());
        let mut names = vec![(parent.to_string(), caller)];
        if let Some(leg) = &state.leg {
            names.push((leg.clone(), person.name.clone()));
        }
        let summary = bridge::summarize(&events, &names);
        let report = Report {
            line,
            group,
            correlation: parent,
            caller: state,
            source: Source::Connected {
                person: &person,
                leg: state.leg.as_deref().unwrap_or(""),
            },
        };
        match self.ensure_incident(&report).await {
            Ok((record, _)) => {
                let key = format!("inbound:{parent}:bridge:{conference}:ended");
                let note = ended_note(&conference_name(parent), &summary);
                if let Err(e) = self.note(&record, key, &note).await {
                    tracing::warn!(incident = %record.number, error = %e, "could not note the end of the bridged call");
                }
            }
            Err(e) => {
                tracing::error!(call = parent, error = %e, "no incident for the bridged call")
            }
        }
        VoiceResponse::new()
    }

    /// The team's person the state names.
    async fn called_person<'l>(
        &self,
        line: &'l Line,
        state: &CallState,
    ) -> Option<(usize, &'l Group, Person)> {
        let index = state.index?;
        let group = state.group.and_then(|d| line.group(d))?;
        let person = self.team(group).await.get(index)?.clone();
        Some((index, group, person))
    }
}
