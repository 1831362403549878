//! The menus: report or put through, then the team.

use super::{MAX_TRIES, REPORT_INTRO, goodbye, one_key_menu};
use crate::config::Line;
use crate::state::{CallState, Mode};
use crate::twiml::VoiceResponse;
use crate::{Inbound, Webhook, speech};

impl Inbound {
    pub(super) fn menu(
        &self,
        hook: &Webhook,
        line: &Line,
        state: &CallState,
        greet: bool,
    ) -> VoiceResponse {
        let sp = speech(line);
        one_key_menu(hook, "/voice/menu", state, 6, |mut g| {
            if greet {
                let hello = match &state.who {
                    Some(w) => format!("Hello {w}. You have reached the {}.", line.name),
                    None => format!("Hello. You have reached the {}.", line.name),
                };
                g = g.say(&sp, hello);
            }
            g.say(
                &sp,
                "To report an incident, press 1. To be put through to the person on call now, press 2.",
            )
        })
    }

    /// Silence or a wrong key: say so and ask again, or give up after [`MAX_TRIES`].
    pub(super) fn again(
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

    pub(super) async fn menu_choice(&self, hook: &Webhook, line: &Line) -> VoiceResponse {
        let mode = match hook.param("Digits") {
            "1" => Mode::Report,
            "2" => Mode::Live,
            _ => return self.again(hook, line, |s| self.menu(hook, line, s, false)),
        };
        let mut state = hook.state.step();
        state.mode = Some(mode);
        if let [only] = line.groups.as_slice() {
            state.group = Some(only.digit);
            return self.after_group(hook, line, &state).await;
        }
        self.group_menu(hook, line, &state)
    }

    pub(super) fn group_menu(
        &self,
        hook: &Webhook,
        line: &Line,
        state: &CallState,
    ) -> VoiceResponse {
        let mut options: Vec<String> = line
            .groups
            .iter()
            .map(|g| format!("For {}, press {}.", g.name, g.digit))
            .collect();
        options.push("To hear these options again, press 0.".into());
        one_key_menu(hook, "/voice/group", state, 6, |g| {
            let sp = speech(line);
            g.say(&sp, "Which team is it for?")
                .say(&sp, options.join(" "))
        })
    }

    pub(super) async fn group_choice(&self, hook: &Webhook, line: &Line) -> VoiceResponse {
        let digits = hook.param("Digits");
        if digits == "0" {
            return self.group_menu(hook, line, &hook.state);
        }
        let Some(group) = digits.parse::<u8>().ok().and_then(|d| line.group(d)) else {
            return self.again(hook, line, |s| self.group_menu(hook, line, s));
        };
        let mut state = hook.state.step();
        state.group = Some(group.digit);
        self.after_group(hook, line, &state).await
    }

    pub(super) async fn after_group(
        &self,
        hook: &Webhook,
        line: &Line,
        state: &CallState,
    ) -> VoiceResponse {
        match state.mode {
            Some(Mode::Live) => self.dial_next(hook, line, state, 0, None).await,
            _ => self.record_prompt(hook, line, state, REPORT_INTRO),
        }
    }
}
