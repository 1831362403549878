//! Recording a report (menu 1, or voicemail after nobody answered): the recording, its
//! confirmation, and filing it as an incident.

use super::{
    MAX_RECORDING_SECS, MAX_RERECORDS, MAX_TRIES, MIN_RECORDING_SECS, REPORT_INTRO,
    VOICEMAIL_INTRO, goodbye, lost, one_key_menu,
};
use crate::config::{Group, Line};
use crate::incident::{Escalated, Report, Source, note_key};
use crate::state::{CallState, Mode};
use crate::twiml::{Record, Speech, VoiceResponse};
use crate::{Inbound, MARK_TTL_SECS, Webhook, is_twilio_sid, speech, spell};
use escalation_core::ports::Mark;

impl Inbound {
    pub(super) fn record_prompt(
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

    pub(super) fn intro(state: &CallState) -> &'static str {
        if state.mode == Some(Mode::Voicemail) {
            VOICEMAIL_INTRO
        } else {
            REPORT_INTRO
        }
    }

    pub(super) fn record_again(&self, hook: &Webhook, line: &Line) -> VoiceResponse {
        if hook.state.tries >= MAX_TRIES {
            return goodbye(&speech(line), "No message was recorded.");
        }
        self.record_prompt(hook, line, &hook.state, Self::intro(&hook.state))
    }

    pub(super) async fn recorded(&self, hook: &Webhook, line: &Line) -> VoiceResponse {
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

    pub(super) fn confirm_prompt(
        &self,
        hook: &Webhook,
        line: &Line,
        state: &CallState,
    ) -> VoiceResponse {
        one_key_menu(hook, "/voice/confirm", state, 8, |g| {
            g.say(&speech(line), "Your message was recorded. To send it, press 1. To record it again, press 2. If you press nothing, it will be sent.")
        })
    }

    pub(super) async fn confirm(&self, hook: &Webhook, line: &Line) -> VoiceResponse {
        let sp = speech(line);
        let state = &hook.state;
        let Some(sid) = state.recording_sid.as_deref().filter(|s| is_twilio_sid(s)) else {
            return lost(&sp, "confirmation without a recording");
        };
        match hook.param("Digits") {
            "2" if state.rerecords < MAX_RERECORDS => {
                if let Err(e) = self
                    .marks
                    .put(&Mark::RecordingDiscarded(sid.to_string()), MARK_TTL_SECS)
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
    pub(super) async fn tried(&self, group: &Group, from: &str, called: u8) -> Vec<String> {
        self.team(group)
            .await
            .iter()
            .filter(|p| p.phone.as_str() != from)
            .take(usize::from(called))
            .map(|p| p.name.clone())
            .collect()
    }

    /// File the recorded message: the incident (once per call), then the escalation.
    pub(super) async fn submit(
        &self,
        hook: &Webhook,
        line: &Line,
        state: &CallState,
    ) -> VoiceResponse {
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
            .marks
            .put(&Mark::RecordingSent(sid.to_string()), MARK_TTL_SECS)
            .await
        {
            tracing::warn!(recording = sid, error = %e, "could not mark the recording as sent");
        }
        let tried = if state.mode == Some(Mode::Voicemail) {
            Some(self.tried(group, hook.param("From"), state.called).await)
        } else {
            None
        };
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
    pub(super) async fn file(
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
                    if let Err(e) = self.note(&record, note_key::recording(sid), &note).await {
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
}
