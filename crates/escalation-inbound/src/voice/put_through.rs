//! Putting the caller through (menu 2): the team's people one after the other, the
//! whisper that lets the called person take the call, and the end of the call.

use super::{VOICEMAIL_INTRO, goodbye, lost};
use crate::config::{Group, Line, Team};
use crate::incident::{Report, Source, note_key};
use crate::state::{CallState, Mode};
use crate::twiml::{Dial, DialNumber, Gather, VoiceResponse};
use crate::{Inbound, MARK_TTL_SECS, Webhook, is_twilio_sid, speech, spell};
use escalation_core::model::Person;
use escalation_core::ports::Mark;
use escalation_core::time::human_duration;

impl Inbound {
    /// Call the next person of the team from `start` on (never the caller), or, once nobody
    /// is left or `max_people` were called, offer voicemail.
    pub(super) async fn dial_next(
        &self,
        hook: &Webhook,
        line: &Line,
        state: &CallState,
        start: usize,
        lead: Option<String>,
    ) -> VoiceResponse {
        let sp = speech(line);
        let Some(group) = state.group.and_then(|d| line.group(d)) else {
            return lost(&sp, "put-through without a team");
        };
        let from = hook.param("From");
        let people = self.team(group).await;
        let next = (usize::from(state.called) < line.live.max_people)
            .then(|| {
                people
                    .iter()
                    .enumerate()
                    .skip(start)
                    .find(|(_, p)| p.phone.as_str() != from)
            })
            .flatten();
        let lead = lead.unwrap_or_default();
        let Some((index, person)) = next else {
            tracing::info!(
                call = hook.param("CallSid"),
                called = state.called,
                "nobody answered; offering voicemail"
            );
            let mut vm = state.step();
            vm.mode = Some(Mode::Voicemail);
            vm.index = None;
            let mut r = VoiceResponse::new();
            if !lead.trim().is_empty() {
                r = r.say(&sp, lead.trim());
            }
            return r.then(self.record_prompt(hook, line, &vm, VOICEMAIL_INTRO));
        };
        let mut dialling = state.step();
        dialling.index = Some(index);
        dialling.called = state.called.saturating_add(1);
        let mut whisper = dialling.clone();
        whisper.parent = Some(hook.param("CallSid").to_string());
        whisper.line = Some(line.number.as_str().to_string());
        let say = if state.called == 0 {
            format!(
                "{lead}Putting you through to the {} team. Calling {}. Please hold.",
                group.name, person.name
            )
        } else {
            format!("{lead}Calling {}. Please hold.", person.name)
        };
        tracing::info!(call = hook.param("CallSid"), to = %person.phone.masked(), index, "putting the caller through");
        if let Some(ports) = self.put_through_bridge() {
            return match self
                .ring_into_bridge(ports, hook, line, &dialling, person, say)
                .await
            {
                Ok(r) => r,
                Err(lead) => {
                    Box::pin(self.dial_next(hook, line, &dialling, index + 1, Some(lead))).await
                }
            };
        }
        VoiceResponse::new().say(&sp, say).dial(Dial {
            action: hook.url("/voice/dialed", &dialling),
            timeout_secs: line.live.ring_timeout_secs,
            caller_id: Some(line.number.as_str().to_string()),
            numbers: vec![DialNumber {
                number: person.phone.as_str().to_string(),
                whisper_url: Some(hook.url("/voice/whisper", &whisper)),
            }],
        })
    }

    /// The called person's leg: announce the caller; a key press (a human) connects.
    pub(super) fn whisper(&self, hook: &Webhook, line: &Line, key_step: &str) -> VoiceResponse {
        let sp = speech(line);
        let state = &hook.state;
        let Some(group) = state.group.and_then(|d| line.group(d)) else {
            return lost(&sp, "whisper without a team");
        };
        let who = state.who.clone().unwrap_or_else(|| "A caller".into());
        VoiceResponse::new()
            .gather(
                Gather::digits(hook.url(key_step, state), 1)
                    .timeout(line.live.whisper_timeout_secs)
                    .say(
                        &sp,
                        format!(
                            "This is the {}. {who} is calling for the {} team. Press any key to take the call.",
                            line.name, group.name
                        ),
                    ),
            )
            .say(&sp, "No key was pressed, so the caller will be offered to someone else.")
            .say(&sp, "Goodbye.")
            .hangup()
    }

    /// The called person pressed a key: record it, open the incident, connect.
    pub(super) async fn whisper_key(&self, hook: &Webhook, line: &Line) -> VoiceResponse {
        let sp = speech(line);
        let state = &hook.state;
        let (Some(parent), Some(index), Some(group)) = (
            state.parent.as_deref().filter(|p| is_twilio_sid(p)),
            state.index,
            state.group.and_then(|d| line.group(d)),
        ) else {
            return lost(&sp, "whisper key without the caller's call");
        };
        let people = self.team(group).await;
        let Some(person) = people.get(index) else {
            return lost(&sp, "whisper key for an unknown person");
        };
        if hook.param("Digits").is_empty() {
            return goodbye(&sp, "No key was pressed.");
        }
        let taken = Mark::CallTaken {
            parent: parent.to_string(),
            index,
        };
        if let Err(e) = self.marks.put(&taken, MARK_TTL_SECS).await {
            tracing::warn!(call = parent, error = %e, "could not record that the call was taken");
        }
        tracing::info!(call = parent, to = %person.phone.masked(), "the called person took the call");
        let report = Report {
            line,
            group,
            correlation: parent,
            caller: state,
            source: Source::Connected {
                person,
                leg: hook.param("CallSid"),
            },
        };
        match self.ensure_incident(&report).await {
            Ok((record, _)) => VoiceResponse::new().say(
                &sp,
                format!(
                    "Connecting you now. Incident {} is open for this call.",
                    spell(&record.number)
                ),
            ),
            Err(e) => {
                tracing::error!(call = parent, error = %e, "could not create the incident for the connected call");
                VoiceResponse::new().say(
                    &sp,
                    "Connecting you now. The incident could not be created automatically, so please record this call in ServiceNow.",
                )
            }
        }
    }

    /// The `<Dial>` ended: connected and done, or try the next person.
    pub(super) async fn dialed(&self, hook: &Webhook, line: &Line) -> VoiceResponse {
        let sp = speech(line);
        let state = &hook.state;
        let call = hook.param("CallSid");
        let (Some(index), Some(group)) = (state.index, state.group.and_then(|d| line.group(d)))
        else {
            return lost(&sp, "dial result without a person");
        };
        let people = self.team(group).await;
        let Some(person) = people.get(index) else {
            return lost(&sp, "dial result for an unknown person");
        };
        if !is_twilio_sid(call) {
            return lost(&sp, "dial result without a CallSid");
        }
        let taken = hook.param("DialBridged") == "true"
            || self
                .marks
                .has(&Mark::CallTaken {
                    parent: call.to_string(),
                    index,
                })
                .await
                .unwrap_or(false);
        if taken {
            let secs: u64 = hook.param("DialCallDuration").parse().unwrap_or(0);
            let report = Report {
                line,
                group,
                correlation: call,
                caller: state,
                source: Source::Connected {
                    person,
                    leg: hook.param("DialCallSid"),
                },
            };
            match self.ensure_incident(&report).await {
                Ok((record, _)) => {
                    let note = format!(
                        "The call between {} and {} ended after {}.",
                        state.who.as_deref().unwrap_or("the caller"),
                        person.name,
                        human_duration(secs.saturating_mul(1000))
                    );
                    let key = note_key::call_ended(call, index);
                    if let Err(e) = self.note(&record, key, &note).await {
                        tracing::warn!(incident = %record.number, error = %e, "could not note the end of the call");
                    }
                }
                Err(e) => {
                    tracing::error!(call, error = %e, "no incident for the connected call")
                }
            }
            return goodbye(&sp, "The call has ended.");
        }
        if hook.param("CallStatus") == "completed" {
            tracing::info!(
                call,
                "caller hung up while being put through; nothing filed"
            );
            return VoiceResponse::new();
        }
        let lead = match hook.param("DialCallStatus") {
            "busy" => format!("{} is busy. ", person.name),
            "no-answer" | "" => format!("{} did not answer. ", person.name),
            "completed" | "answered" => format!("{} did not take the call. ", person.name),
            _ => format!("{} could not be reached. ", person.name),
        };
        tracing::info!(call, to = %person.phone.masked(), status = hook.param("DialCallStatus"), "not connected; trying the next person");
        self.dial_next(hook, line, state, index + 1, Some(lead))
            .await
    }

    /// The team's people for this moment: the configured ones, or whoever is on call now.
    /// A source that cannot answer leaves nobody to call (the caller is offered voicemail,
    /// which files an incident that escalates as usual).
    pub(crate) async fn team(&self, group: &Group) -> Vec<Person> {
        match &group.people {
            Team::Named(people) => people.clone(),
            Team::OnCall => match self
                .engine
                .on_call_now(group.assignment_group.as_deref(), &group.name)
                .await
            {
                Ok((people, source)) => {
                    tracing::info!(
                        team = %group.name,
                        people = people.len(),
                        source = source.as_deref().unwrap_or("-"),
                        "on call for the put-through"
                    );
                    people
                }
                Err(e) => {
                    tracing::warn!(team = %group.name, error = %e, "nobody on call could be found for the put-through");
                    Vec::new()
                }
            },
        }
    }
}
