//! Admission: who is calling (the caller ID check), and the PIN for withheld or unknown
//! numbers.

use super::{MAX_TRIES, goodbye};
use crate::callers::{caller_number, identify};
use crate::config::{Admission, Line};
use crate::state::{Admitted, CallState};
use crate::twiml::{Gather, Speech, VoiceResponse};
use crate::webhook_signature::{constant_time_eq, sha256_hex};
use crate::{Inbound, Webhook, speech};
use escalation_core::model::phone::mask;

impl Inbound {
    pub(super) async fn incoming(&self, hook: &Webhook) -> VoiceResponse {
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
        let Some(number) = caller_number(from) else {
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
        };
        state.caller_masked = Some(number.masked());
        let found = tokio::time::timeout(
            self.config.servicenow_budget,
            identify(&self.roster, self.directory.as_ref(), line, &number),
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

    pub(super) fn pin_prompt(
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

    pub(super) fn pin(&self, hook: &Webhook, line: &Line) -> VoiceResponse {
        let sp = speech(line);
        let digits = hook.param("Digits");
        let ok = !digits.is_empty()
            && line.callers.pin_sha256.as_deref().is_some_and(|h| {
                constant_time_eq(sha256_hex(digits.as_bytes()).as_bytes(), h.as_bytes())
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
}
