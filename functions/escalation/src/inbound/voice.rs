//! The voice webhooks, one method per step. Every step answers with TwiML; every dead end
//! says what happened before the call ends.
//!
//! ```text
//! /voice ─ caller ID check ─┬─ withheld / unknown: refusal (or /voice/pin)
//!                           └─ menu ── /voice/menu: 1 report, 2 put through
//!        ── (several teams) /voice/group: 1-9 team, 0 repeat
//! report:  <Record> ── /voice/recorded ── confirm ── /voice/confirm: 1 send, 2 again
//!          send: incident created, escalation started (App::start), number read out
//! live:    <Dial><Number url=/voice/whisper> ── called person presses a key
//!          (/voice/whisper-key: incident created and assigned) ── connected
//!          /voice/dialed: next person, or voicemail (a recorded report, as above)
//! /voice/transcription: Twilio's transcription → work note on the incident
//! ```

use super::callers::{identify, is_withheld};
use super::config::{Admission, Group, Line};
use super::incident::{Escalated, Report, Source};
use super::state::{Admitted, CallState, Mode};
use super::{Inbound, Webhook, is_twilio_sid, marks, speech, spell};
use crate::outbox::UpdateQueue;
use crate::phone::{E164, mask};
use crate::servicenow::ServiceNow;
use crate::store::EscalationStore;
use crate::twilio::Studio;
use crate::twiml::{Dial, DialNumber, Gather, Record, Speech, VoiceResponse};
use std::time::Duration;

/// Attempts at a step (silence, wrong keys) before the line gives up.
const MAX_TRIES: u8 = 3;
/// Times a caller may record the message again.
const MAX_RERECORDS: u8 = 3;
/// Shorter messages are asked for again.
const MIN_RECORDING_SECS: u32 = 2;
/// Longer ones are cut (Twilio transcribes at most 120 s).
const MAX_RECORDING_SECS: u32 = 120;

const REPORT_INTRO: &str = "After the tone, please describe the problem: what is affected, since when, and how to reach you. Press the pound key when you are done.";
const VOICEMAIL_INTRO: &str = "Nobody on call could be reached. Please leave a message after the tone: what is affected, and how to reach you. It will be filed as an incident and the on-call team will be called. Press the pound key when you are done.";

fn goodbye(sp: &Speech, text: &str) -> VoiceResponse {
    VoiceResponse::new()
        .say(sp, text)
        .say(sp, "Goodbye.")
        .hangup()
}

/// A step that cannot go on (its state is missing): say so and end the call.
fn lost(sp: &Speech, what: &str) -> VoiceResponse {
    tracing::error!(
        problem = what,
        "inbound call state is incomplete; ending the call"
    );
    goodbye(
        sp,
        "Sorry, something went wrong and this call cannot continue. Please call again.",
    )
}

impl<S: EscalationStore, T: Studio, Q: UpdateQueue, N: ServiceNow> Inbound<'_, S, T, Q, N> {
    /// Answer one voice webhook. `None`: no such step (the handler answers 404).
    pub async fn voice(&self, step: &str, hook: &Webhook) -> Option<VoiceResponse> {
        const STEPS: &[&str] = &[
            "/voice/pin",
            "/voice/transcription",
            "/voice/menu",
            "/voice/group",
            "/voice/record",
            "/voice/recorded",
            "/voice/confirm",
            "/voice/dialed",
            "/voice/whisper",
            "/voice/whisper-key",
        ];
        if step == "/voice" {
            return Some(self.incoming(hook).await);
        }
        if !STEPS.contains(&step) {
            return None;
        }
        let line_number = hook
            .state
            .line
            .clone()
            .unwrap_or_else(|| hook.param("To").to_string());
        let Some(line) = self.config.line(&line_number) else {
            return Some(lost(
                &Speech::default(),
                "no configured line for this request",
            ));
        };
        let sp = speech(line);
        let admitted = hook.state.admitted.is_some();
        Some(match step {
            "/voice/pin" => self.pin(hook, line),
            "/voice/transcription" => self.transcription(hook, line).await,
            _ if !admitted => lost(&sp, "caller was never admitted"),
            "/voice/menu" => self.menu_choice(hook, line),
            "/voice/group" => self.group_choice(hook, line),
            "/voice/record" => self.record_again(hook, line),
            "/voice/recorded" => self.recorded(hook, line).await,
            "/voice/confirm" => self.confirm(hook, line).await,
            "/voice/dialed" => self.dialed(hook, line).await,
            "/voice/whisper" => self.whisper(hook, line),
            "/voice/whisper-key" => self.whisper_key(hook, line).await,
            _ => return None,
        })
    }

    // -----------------------------------------------------------------------------------
    // Admission

    async fn incoming(&self, hook: &Webhook) -> VoiceResponse {
        let (to, from, call) = (hook.param("To"), hook.param("From"), hook.param("CallSid"));
        let Some(line) = self.config.line(to) else {
            tracing::warn!(to = %mask(to), call, "call to a number the inbound line is not configured for");
            return goodbye(
                &Speech::default(),
                "This number is not set up for the escalation service.",
            );
        };
        let sp = speech(line);
        let mut state = CallState::default();
        if is_withheld(from) {
            tracing::info!(call, "call with a withheld caller ID");
            return match line.callers.withheld {
                Admission::Refuse => goodbye(
                    &sp,
                    &format!(
                        "The {} does not accept calls from withheld numbers. Please call again with your caller ID shown.",
                        line.name
                    ),
                ),
                Admission::Pin => self.pin_prompt(hook, line, &state, true),
            };
        }
        let number = E164::parse(from).expect("not withheld, so E.164");
        state.caller_masked = Some(number.masked());
        let found = tokio::time::timeout(
            self.config.servicenow_budget,
            identify(&self.app.roster, &self.app.sn, line, &number),
        )
        .await;
        match found {
            Ok(Ok(Some(caller))) => {
                tracing::info!(call, from = %number.masked(), admitted = ?caller.admitted, "caller admitted");
                state.admitted = Some(caller.admitted);
                state.who = Some(caller.name);
                state.caller_sys_id = caller.sys_id;
                state.caller_user = caller.sn_user;
                self.menu(hook, line, &state, true)
            }
            Ok(Ok(None)) => {
                tracing::info!(call, from = %number.masked(), "caller not registered");
                match line.callers.unknown {
                    Admission::Refuse => goodbye(
                        &sp,
                        &format!(
                            "Your number is not registered for the {}. If you need help, please contact the service desk.",
                            line.name
                        ),
                    ),
                    Admission::Pin => self.pin_prompt(hook, line, &state, true),
                }
            }
            Ok(Err(e)) => {
                tracing::error!(call, from = %number.masked(), error = %e, "could not check the caller in ServiceNow");
                goodbye(
                    &sp,
                    "Sorry, your number cannot be checked right now because the service desk system is not answering. Please try again in a few minutes, or contact the service desk another way.",
                )
            }
            Err(_) => {
                tracing::error!(call, from = %number.masked(), "ServiceNow user lookup timed out");
                goodbye(
                    &sp,
                    "Sorry, your number cannot be checked right now because the service desk system is not answering. Please try again in a few minutes, or contact the service desk another way.",
                )
            }
        }
    }

    fn pin_prompt(
        &self,
        hook: &Webhook,
        line: &Line,
        state: &CallState,
        first: bool,
    ) -> VoiceResponse {
        let sp = speech(line);
        let action = hook.url("/voice/pin", state);
        let mut g = Gather::until_pound(action.clone()).timeout(8).on_empty();
        if first {
            g = g.say(&sp, format!("You have reached the {}.", line.name));
        }
        g = g.say(
            &sp,
            "Please enter the PIN for this line, then press the pound key.",
        );
        VoiceResponse::new().gather(g).redirect(action)
    }

    fn pin(&self, hook: &Webhook, line: &Line) -> VoiceResponse {
        let sp = speech(line);
        let digits = hook.param("Digits");
        let ok = !digits.is_empty()
            && line.callers.pin_sha256.as_deref().is_some_and(|h| {
                crate::twilio_webhook::constant_time_eq(
                    crate::twilio_webhook::sha256_hex(digits.as_bytes()).as_bytes(),
                    h.as_bytes(),
                )
            });
        let call = hook.param("CallSid");
        if ok {
            tracing::info!(call, "caller admitted with the PIN");
            let mut state = hook.state.step();
            state.admitted = Some(Admitted::Pin);
            return self.menu(hook, line, &state, true);
        }
        tracing::warn!(call, attempt = hook.state.tries + 1, "wrong or no PIN");
        if hook.state.tries + 1 >= MAX_TRIES {
            return goodbye(&sp, "That PIN is not correct.");
        }
        let said = if digits.is_empty() {
            "No PIN was entered."
        } else {
            "That PIN is not correct."
        };
        VoiceResponse::new().say(&sp, said).then(self.pin_prompt(
            hook,
            line,
            &hook.state.retry(),
            false,
        ))
    }

    // -----------------------------------------------------------------------------------
    // Menus

    fn menu(&self, hook: &Webhook, line: &Line, state: &CallState, greet: bool) -> VoiceResponse {
        let sp = speech(line);
        let action = hook.url("/voice/menu", state);
        let mut g = Gather::digits(action.clone(), 1).timeout(6).on_empty();
        if greet {
            let hello = match &state.who {
                Some(w) => format!("Hello {w}. You have reached the {}.", line.name),
                None => format!("Hello. You have reached the {}.", line.name),
            };
            g = g.say(&sp, hello);
        }
        g = g.say(
            &sp,
            "To report an incident, press 1. To be put through to the person on call now, press 2.",
        );
        VoiceResponse::new().gather(g).redirect(action)
    }

    /// Silence or a wrong key: say so and ask again, or give up after [`MAX_TRIES`].
    fn again(
        &self,
        hook: &Webhook,
        line: &Line,
        ask: impl FnOnce(&CallState) -> VoiceResponse,
    ) -> VoiceResponse {
        let sp = speech(line);
        if hook.state.tries + 1 >= MAX_TRIES {
            return goodbye(&sp, "No option was chosen.");
        }
        let said = if hook.param("Digits").is_empty() {
            "I did not hear a choice."
        } else {
            "Sorry, that is not an option."
        };
        VoiceResponse::new()
            .say(&sp, said)
            .then(ask(&hook.state.retry()))
    }

    fn menu_choice(&self, hook: &Webhook, line: &Line) -> VoiceResponse {
        let mode = match hook.param("Digits") {
            "1" => Mode::Report,
            "2" => Mode::Live,
            _ => return self.again(hook, line, |s| self.menu(hook, line, s, false)),
        };
        let mut state = hook.state.step();
        state.mode = Some(mode);
        if let [only] = line.groups.as_slice() {
            state.group = Some(only.digit);
            return self.after_group(hook, line, &state);
        }
        self.group_menu(hook, line, &state)
    }

    fn group_menu(&self, hook: &Webhook, line: &Line, state: &CallState) -> VoiceResponse {
        let sp = speech(line);
        let action = hook.url("/voice/group", state);
        let mut options: Vec<String> = line
            .groups
            .iter()
            .map(|g| format!("For {}, press {}.", g.name, g.digit))
            .collect();
        options.push("To hear these options again, press 0.".into());
        let g = Gather::digits(action.clone(), 1)
            .timeout(6)
            .on_empty()
            .say(&sp, "Which team is it for?")
            .say(&sp, options.join(" "));
        VoiceResponse::new().gather(g).redirect(action)
    }

    fn group_choice(&self, hook: &Webhook, line: &Line) -> VoiceResponse {
        let digits = hook.param("Digits");
        if digits == "0" {
            return self.group_menu(hook, line, &hook.state);
        }
        let Some(group) = digits.parse::<u8>().ok().and_then(|d| line.group(d)) else {
            return self.again(hook, line, |s| self.group_menu(hook, line, s));
        };
        let mut state = hook.state.step();
        state.group = Some(group.digit);
        self.after_group(hook, line, &state)
    }

    fn after_group(&self, hook: &Webhook, line: &Line, state: &CallState) -> VoiceResponse {
        match state.mode {
            Some(Mode::Live) => self.dial_next(hook, line, state, 0, None),
            _ => self.record_prompt(hook, line, state, REPORT_INTRO),
        }
    }

    // -----------------------------------------------------------------------------------
    // Recording a report (menu 1, or voicemail after nobody answered)

    fn record_prompt(
        &self,
        hook: &Webhook,
        line: &Line,
        state: &CallState,
        intro: &str,
    ) -> VoiceResponse {
        let sp = speech(line);
        let mut state = state.clone();
        state.line = None;
        state.recording_sid = None;
        state.recording_url = None;
        state.recording_secs = None;
        let mut for_transcription = state.step();
        for_transcription.line = Some(line.number.as_str().to_string());
        VoiceResponse::new()
            .say(&sp, intro)
            .record(
                Record::new(hook.url("/voice/recorded", &state), MAX_RECORDING_SECS)
                    .transcribe(hook.url("/voice/transcription", &for_transcription)),
            )
            // Reached only when nothing was recorded.
            .say(&sp, "I did not hear a message.")
            .redirect(hook.url("/voice/record", &state.retry()))
    }

    fn intro(state: &CallState) -> &'static str {
        if state.mode == Some(Mode::Voicemail) {
            VOICEMAIL_INTRO
        } else {
            REPORT_INTRO
        }
    }

    fn record_again(&self, hook: &Webhook, line: &Line) -> VoiceResponse {
        if hook.state.tries >= MAX_TRIES {
            return goodbye(&speech(line), "No message was recorded.");
        }
        self.record_prompt(hook, line, &hook.state, Self::intro(&hook.state))
    }

    async fn recorded(&self, hook: &Webhook, line: &Line) -> VoiceResponse {
        let sp = speech(line);
        let call = hook.param("CallSid");
        let sid = hook.param("RecordingSid");
        let url = hook.param("RecordingUrl");
        let secs: u32 = hook.param("RecordingDuration").parse().unwrap_or(0);
        // Twilio says `Digits=hangup` when the caller hung up during the recording.
        let hung_up = hook.param("CallStatus") == "completed" || hook.param("Digits") == "hangup";
        let retry = |said: &str| {
            if hook.state.tries + 1 >= MAX_TRIES {
                return goodbye(&sp, &format!("{said} No message was recorded."));
            }
            VoiceResponse::new().say(&sp, said).then(self.record_prompt(
                hook,
                line,
                &hook.state.retry(),
                Self::intro(&hook.state),
            ))
        };
        if !is_twilio_sid(sid) || !url.starts_with("https://") {
            tracing::warn!(
                call,
                "recording callback without a usable RecordingSid / RecordingUrl"
            );
            if hung_up {
                return VoiceResponse::new();
            }
            return retry("Sorry, the recording did not work.");
        }
        if secs < MIN_RECORDING_SECS {
            tracing::info!(call, secs, hung_up, "recording too short");
            if hung_up {
                return VoiceResponse::new();
            }
            return retry("That message was too short.");
        }
        let mut state = hook.state.step();
        state.recording_sid = Some(sid.to_string());
        state.recording_url = Some(url.to_string());
        state.recording_secs = Some(secs);
        if hung_up {
            // The caller hung up at the end of the message: file it as it is.
            tracing::info!(
                call,
                recording = sid,
                "caller hung up after recording; filing the message"
            );
            let _ = self.submit(hook, line, &state).await;
            return VoiceResponse::new();
        }
        self.confirm_prompt(hook, line, &state)
    }

    fn confirm_prompt(&self, hook: &Webhook, line: &Line, state: &CallState) -> VoiceResponse {
        let sp = speech(line);
        let action = hook.url("/voice/confirm", state);
        let g = Gather::digits(action.clone(), 1)
            .timeout(8)
            .on_empty()
            .say(&sp, "Your message was recorded. To send it, press 1. To record it again, press 2. If you press nothing, it will be sent.");
        VoiceResponse::new().gather(g).redirect(action)
    }

    async fn confirm(&self, hook: &Webhook, line: &Line) -> VoiceResponse {
        let sp = speech(line);
        let state = &hook.state;
        let Some(sid) = state.recording_sid.as_deref().filter(|s| is_twilio_sid(s)) else {
            return lost(&sp, "confirmation without a recording");
        };
        match hook.param("Digits") {
            "2" if state.rerecords < MAX_RERECORDS => {
                if let Err(e) = self
                    .app
                    .store
                    .put_mark(&marks::recording_discarded(sid), marks::TTL_SECS)
                    .await
                {
                    tracing::warn!(recording = sid, error = %e, "could not mark the recording as discarded");
                }
                let mut again = state.step();
                again.rerecords += 1;
                VoiceResponse::new()
                    .say(&sp, "All right, let's record it again.")
                    .then(self.record_prompt(hook, line, &again, Self::intro(state)))
            }
            "1" => self.submit(hook, line, state).await,
            "" => VoiceResponse::new()
                .say(&sp, "No key was pressed, so your message is being sent.")
                .then(self.submit(hook, line, state).await),
            "2" => VoiceResponse::new()
                .say(
                    &sp,
                    "You have recorded the message several times; the last one is being sent.",
                )
                .then(self.submit(hook, line, state).await),
            _ if state.tries + 1 >= MAX_TRIES => VoiceResponse::new()
                .say(&sp, "Your message is being sent.")
                .then(self.submit(hook, line, state).await),
            _ => VoiceResponse::new()
                .say(&sp, "Sorry, that is not an option.")
                .then(self.confirm_prompt(hook, line, &state.retry())),
        }
    }

    /// Names of the people already called for this put-through (for the voicemail's notes).
    fn tried(&self, group: &Group, from: &str, called: u8) -> Vec<String> {
        group
            .people
            .iter()
            .filter(|p| p.phone.as_str() != from)
            .take(usize::from(called))
            .map(|p| p.name.clone())
            .collect()
    }

    /// File the recorded message: the incident (once per call), then the escalation.
    async fn submit(&self, hook: &Webhook, line: &Line, state: &CallState) -> VoiceResponse {
        let sp = speech(line);
        let call = hook.param("CallSid");
        let (Some(sid), Some(url), Some(group)) = (
            state.recording_sid.as_deref(),
            state.recording_url.as_deref(),
            state.group.and_then(|d| line.group(d)),
        ) else {
            return lost(&sp, "submit without recording or team");
        };
        if !is_twilio_sid(call) {
            return lost(&sp, "submit without a CallSid");
        }
        if let Err(e) = self
            .app
            .store
            .put_mark(&marks::recording_sent(sid), marks::TTL_SECS)
            .await
        {
            tracing::warn!(recording = sid, error = %e, "could not mark the recording as sent");
        }
        let tried = (state.mode == Some(Mode::Voicemail))
            .then(|| self.tried(group, hook.param("From"), state.called));
        let secs = state.recording_secs.unwrap_or(0);
        let report = Report {
            line,
            group,
            correlation: call,
            caller: state,
            source: Source::Recording { url, secs, tried },
        };
        self.file(&report, &sp, Some((sid, url, secs))).await
    }

    /// Create (or find) the incident, start the escalation, and tell the caller.
    async fn file(
        &self,
        report: &Report<'_>,
        sp: &Speech,
        recording: Option<(&str, &str, u32)>,
    ) -> VoiceResponse {
        match self.ensure_incident(report).await {
            Ok((record, created)) => {
                if !created && let Some((sid, url, secs)) = recording {
                    // Filed already (e.g. from an earlier message of this call): add this one.
                    let note = format!(
                        "The caller recorded a message ({secs} s, Twilio recording {sid}): {url}"
                    );
                    if let Err(e) = self.note(&record.sys_id, &note).await {
                        tracing::warn!(incident = %record.number, error = %e, "could not add the recording note");
                    }
                }
                let escalated = self.escalate(&record, report).await;
                let next = match escalated {
                    Escalated::Started => "The on-call team is being called now.",
                    Escalated::NotForPriority(_) => "The team will pick it up.",
                    Escalated::Failed(_) => {
                        "The automatic call-out could not be started, so please also tell the service desk."
                    }
                };
                goodbye(
                    sp,
                    &format!(
                        "Thank you. Your report is incident {}, for the {} team. {next}",
                        spell(&record.number),
                        report.group.name
                    ),
                )
            }
            Err(e) => {
                tracing::error!(correlation = report.correlation, error = %e, "could not create the incident");
                goodbye(
                    sp,
                    "Sorry, the incident could not be created because the service desk system did not answer. Your message was recorded. Please call again in a few minutes, or contact the service desk another way.",
                )
            }
        }
    }

    // -----------------------------------------------------------------------------------
    // Putting the caller through (menu 2)

    /// Call the next person of the team from `start` on (never the caller), or, once nobody
    /// is left or `max_people` were called, offer voicemail.
    fn dial_next(
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
        let next = (usize::from(state.called) < line.live.max_people)
            .then(|| {
                group
                    .people
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
    fn whisper(&self, hook: &Webhook, line: &Line) -> VoiceResponse {
        let sp = speech(line);
        let state = &hook.state;
        let Some(group) = state.group.and_then(|d| line.group(d)) else {
            return lost(&sp, "whisper without a team");
        };
        let who = state.who.clone().unwrap_or_else(|| "A caller".into());
        VoiceResponse::new()
            .gather(
                Gather::digits(hook.url("/voice/whisper-key", state), 1)
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
    async fn whisper_key(&self, hook: &Webhook, line: &Line) -> VoiceResponse {
        let sp = speech(line);
        let state = &hook.state;
        let (Some(parent), Some(index), Some(group)) = (
            state.parent.as_deref().filter(|p| is_twilio_sid(p)),
            state.index,
            state.group.and_then(|d| line.group(d)),
        ) else {
            return lost(&sp, "whisper key without the caller's call");
        };
        let Some(person) = group.people.get(index) else {
            return lost(&sp, "whisper key for an unknown person");
        };
        if hook.param("Digits").is_empty() {
            return goodbye(&sp, "No key was pressed.");
        }
        if let Err(e) = self
            .app
            .store
            .put_mark(&marks::accepted(parent, index), marks::TTL_SECS)
            .await
        {
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
    async fn dialed(&self, hook: &Webhook, line: &Line) -> VoiceResponse {
        let sp = speech(line);
        let state = &hook.state;
        let call = hook.param("CallSid");
        let (Some(index), Some(group)) = (state.index, state.group.and_then(|d| line.group(d)))
        else {
            return lost(&sp, "dial result without a person");
        };
        let Some(person) = group.people.get(index) else {
            return lost(&sp, "dial result for an unknown person");
        };
        if !is_twilio_sid(call) {
            return lost(&sp, "dial result without a CallSid");
        }
        let taken = hook.param("DialBridged") == "true"
            || self
                .app
                .store
                .has_mark(&marks::accepted(call, index))
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
                        crate::clock::human_duration(secs * 1000)
                    );
                    if let Err(e) = self.note(&record.sys_id, &note).await {
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
    }

    // -----------------------------------------------------------------------------------
    // Transcriptions

    /// Wait until the caller confirmed or discarded the recording (or the wait runs out).
    async fn decision(&self, recording: &str) -> Option<bool> {
        let deadline = tokio::time::Instant::now() + self.config.transcription_wait;
        loop {
            let store = &self.app.store;
            if store
                .has_mark(&marks::recording_sent(recording))
                .await
                .unwrap_or(false)
            {
                return Some(true);
            }
            if store
                .has_mark(&marks::recording_discarded(recording))
                .await
                .unwrap_or(false)
            {
                return Some(false);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Twilio's transcription of a recording: a work note on the call's incident. A
    /// recording the caller neither sent nor discarded (they hung up at the confirmation
    /// prompt) is filed here. Answers an empty document either way.
    async fn transcription(&self, hook: &Webhook, line: &Line) -> VoiceResponse {
        let call = hook.param("CallSid");
        let recording = hook.param("RecordingSid");
        let transcription = hook.param("TranscriptionSid");
        if !is_twilio_sid(call) || !is_twilio_sid(recording) {
            tracing::warn!("transcription callback without CallSid / RecordingSid");
            return VoiceResponse::new();
        }
        let store = &self.app.store;
        let done_mark = is_twilio_sid(transcription).then(|| marks::transcription(transcription));
        if let Some(m) = &done_mark
            && store.has_mark(m).await.unwrap_or(false)
        {
            return VoiceResponse::new();
        }
        let sent = match self.decision(recording).await {
            Some(sent) => sent,
            None => match store
                .put_mark(&marks::recording_sent(recording), marks::TTL_SECS)
                .await
            {
                // Nobody decided: the caller hung up at the confirmation prompt. File it.
                Ok(true) => {
                    tracing::info!(
                        call,
                        recording,
                        "recording never confirmed; filing it from the transcription callback"
                    );
                    true
                }
                _ => self.decision(recording).await.unwrap_or(true),
            },
        };
        if !sent {
            tracing::info!(
                call,
                recording,
                "transcription of a discarded recording; ignored"
            );
            return VoiceResponse::new();
        }
        let Some(group) = hook.state.group.and_then(|d| line.group(d)) else {
            tracing::error!(call, "transcription callback without a team");
            return VoiceResponse::new();
        };
        let url = hook.param("RecordingUrl");
        let tried = (hook.state.mode == Some(Mode::Voicemail))
            .then(|| self.tried(group, hook.param("From"), hook.state.called));
        let report = Report {
            line,
            group,
            correlation: call,
            caller: &hook.state,
            source: Source::Recording {
                url,
                secs: hook.state.recording_secs.unwrap_or(0),
                tried,
            },
        };
        let record = match self.ensure_incident(&report).await {
            Ok((record, created)) => {
                if created {
                    self.escalate(&record, &report).await;
                }
                record
            }
            Err(e) => {
                tracing::error!(call, recording, error = %e, "no incident for the transcription");
                return VoiceResponse::new();
            }
        };
        let text = hook.param("TranscriptionText").trim();
        let status = hook.param("TranscriptionStatus");
        let note = if status == "completed" && !text.is_empty() {
            let text: String = text.chars().take(4000).collect();
            format!("Transcription of the caller's message (Twilio recording {recording}):\n{text}")
        } else {
            format!(
                "Twilio could not transcribe the caller's message (recording {recording}, transcription status {}). Listen to the recording: {url}",
                if status.is_empty() { "unknown" } else { status }
            )
        };
        match self.note(&record.sys_id, &note).await {
            Ok(()) => {
                if let Some(m) = &done_mark {
                    let _ = store.put_mark(m, 7 * marks::TTL_SECS).await;
                }
                tracing::info!(incident = %record.number, status, "transcription added to the incident");
            }
            Err(e) => {
                tracing::error!(incident = %record.number, error = %e, "could not add the transcription")
            }
        }
        VoiceResponse::new()
    }
}
