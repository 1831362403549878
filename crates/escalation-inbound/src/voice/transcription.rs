//! Twilio's transcription of a recording: a work note on the call's incident.

use crate::config::Line;
use crate::incident::{Report, Source, note_key};
use crate::state::Mode;
use crate::twiml::VoiceResponse;
use crate::{Inbound, MARK_TTL_SECS, Webhook, is_twilio_sid};
use escalation_core::ports::Mark;
use std::time::Duration;

impl Inbound {
    /// Wait until the caller confirmed or discarded the recording (or the wait runs out).
    pub(super) async fn decision(&self, recording: &str) -> Option<bool> {
        let deadline = tokio::time::Instant::now() + self.config.transcription_wait;
        let sent = Mark::RecordingSent(recording.to_string());
        let discarded = Mark::RecordingDiscarded(recording.to_string());
        loop {
            if self.marks.has(&sent).await.unwrap_or(false) {
                return Some(true);
            }
            if self.marks.has(&discarded).await.unwrap_or(false) {
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
    pub(super) async fn transcription(&self, hook: &Webhook, line: &Line) -> VoiceResponse {
        let call = hook.param("CallSid");
        let recording = hook.param("RecordingSid");
        let transcription = hook.param("TranscriptionSid");
        if !is_twilio_sid(call) || !is_twilio_sid(recording) {
            tracing::warn!("transcription callback without CallSid / RecordingSid");
            return VoiceResponse::new();
        }
        let done_mark =
            is_twilio_sid(transcription).then(|| Mark::Transcription(transcription.to_string()));
        if let Some(m) = &done_mark
            && self.marks.has(m).await.unwrap_or(false)
        {
            return VoiceResponse::new();
        }
        let sent = match self.decision(recording).await {
            Some(sent) => sent,
            None => match self
                .marks
                .put(&Mark::RecordingSent(recording.to_string()), MARK_TTL_SECS)
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
        let tried = if hook.state.mode == Some(Mode::Voicemail) {
            Some(
                self.tried(group, hook.param("From"), hook.state.called)
                    .await,
            )
        } else {
            None
        };
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
        match self
            .note(&record, note_key::transcription(recording), &note)
            .await
        {
            Ok(()) => {
                if let Some(m) = &done_mark {
                    let _ = self.marks.put(m, 7 * MARK_TTL_SECS).await;
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
