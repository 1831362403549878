//! The voice webhooks, one method per step. Every step answers with TwiML; every dead end
//! says what happened before the call ends.
//!
//! ```text
//! /voice ─ caller ID check ─┬─ withheld / unknown: refusal (or /voice/pin)
//!                           └─ menu ── /voice/menu: 1 report, 2 put through
//!        ── (several teams) /voice/group: 1-9 team, 0 repeat
//! report:  <Record> ── /voice/recorded ── confirm ── /voice/confirm: 1 send, 2 again
//!          send: incident created, escalation started (Engine::start), number read out
//! live:    <Dial><Number url=/voice/whisper> ── called person presses a key
//!          (/voice/whisper-key: incident created and assigned) ── connected
//!          /voice/dialed: next person, or voicemail (a recorded report, as above)
//!          (with the bridge: the person is called through the Calls API and the two
//!          meet in a conference, `bridged`)
//! /voice/transcription: Twilio's transcription → work note on the incident
//! ```
//!
//! - `admission`: the caller ID check and the PIN.
//! - `menu`: the main menu and the team menu.
//! - `recording`: recording a report or a voicemail, confirming it, filing it.
//! - `put_through`: calling the team's people, the whisper, the end of the call.
//! - `bridged`: the put-through call as a conference bridge (only with the bridge on).
//! - `transcription`: Twilio's transcription of a recording, as a work note.

mod admission;
mod bridged;
mod menu;
mod put_through;
mod recording;
mod transcription;

use crate::state::CallState;
use crate::twiml::{Gather, Speech, VoiceResponse};
use crate::{Inbound, Webhook, speech};

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

/// A one-key menu that posts to `step` (also when nothing was pressed within `timeout_secs`),
/// its prompts added by `prompts`; then a redirect to the same step should the gather end
/// without posting.
fn one_key_menu(
    hook: &Webhook,
    step: &str,
    state: &CallState,
    timeout_secs: u32,
    prompts: impl FnOnce(Gather) -> Gather,
) -> VoiceResponse {
    let action = hook.url(step, state);
    let gather = Gather::digits(action.clone(), 1)
        .timeout(timeout_secs)
        .on_empty();
    VoiceResponse::new()
        .gather(prompts(gather))
        .redirect(action)
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

impl Inbound {
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
            "/voice/bridge-wait",
            "/voice/bridge-whisper",
            "/voice/bridge-key",
            "/voice/bridge-status",
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
            "/voice/menu" => self.menu_choice(hook, line).await,
            "/voice/group" => self.group_choice(hook, line).await,
            "/voice/record" => self.record_again(hook, line),
            "/voice/recorded" => self.recorded(hook, line).await,
            "/voice/confirm" => self.confirm(hook, line).await,
            "/voice/dialed" => self.dialed(hook, line).await,
            "/voice/whisper" => self.whisper(hook, line, "/voice/whisper-key"),
            "/voice/whisper-key" => self.whisper_key(hook, line).await,
            "/voice/bridge-wait" => self.bridge_wait(hook, line).await,
            "/voice/bridge-whisper" => self.whisper(hook, line, "/voice/bridge-key"),
            "/voice/bridge-key" => self.bridge_key(hook, line).await,
            "/voice/bridge-status" => self.bridge_status(hook, line).await,
            _ => return None,
        })
    }
}
