//! Text messages to the line: a text from an allowed sender becomes an incident (the text
//! is its description) and escalates like any other; the reply names the incident. Other
//! senders get a refusal. One incident per message (`correlation_id` = MessageSid), so a
//! redelivered webhook does not file twice.

use crate::callers::{caller_number, identify};
use crate::incident::{Escalated, Report, Source};
use crate::state::CallState;
use crate::twiml::MessagingResponse;
use crate::{Inbound, Webhook};
use escalation_core::model::phone::mask;

/// Longer texts are cut (a concatenated SMS is at most 1600 characters anyway).
const MAX_TEXT_CHARS: usize = 1600;

fn reply(text: &str) -> MessagingResponse {
    MessagingResponse::new().message(text)
}

impl Inbound {
    /// Answer a text message to the line.
    pub async fn sms(&self, hook: &Webhook) -> MessagingResponse {
        if let Some(answer) = self.sms_reply(hook).await {
            return answer;
        }
        let (to, from) = (hook.param("To"), hook.param("From"));
        let sid = match hook.param("MessageSid") {
            "" => hook.param("SmsSid"),
            s => s,
        };
        let Some(line) = self.config.line(to) else {
            tracing::warn!(to = %mask(to), message = sid, "text to a number the inbound line is not configured for");
            return reply("This number does not take incident reports.");
        };
        if !line.sms_enabled {
            tracing::info!(message = sid, "text to a line with texts turned off");
            return reply(&format!(
                "The {} does not take reports by text message. Please call this number instead.",
                line.name
            ));
        }
        if !crate::is_twilio_sid(sid) {
            tracing::warn!("text without a usable MessageSid");
            return reply(
                "Sorry, your message could not be processed. Please call this number instead.",
            );
        }
        let refused = format!(
            "The {} only accepts reports from registered staff. Your message was not recorded. If you need help, please contact the service desk.",
            line.name
        );
        let Some(number) = caller_number(from) else {
            tracing::info!(message = sid, "text without a usable sender number");
            return reply(&refused);
        };
        let found = tokio::time::timeout(
            self.config.servicenow_budget,
            identify(&self.roster, self.directory.as_ref(), line, &number),
        )
        .await;
        let caller = match found {
            Ok(Ok(Some(c))) => c,
            Ok(Ok(None)) => {
                tracing::info!(message = sid, from = %number.masked(), "text from an unregistered number refused");
                return reply(&refused);
            }
            Ok(Err(e)) => {
                tracing::error!(message = sid, from = %number.masked(), error = %e, "could not check the sender in ServiceNow");
                return reply(
                    "Sorry, your number cannot be checked right now because the service desk system is not answering. Please try again in a few minutes, or call this number.",
                );
            }
            Err(_) => {
                tracing::error!(message = sid, from = %number.masked(), "ServiceNow user lookup timed out");
                return reply(
                    "Sorry, your number cannot be checked right now because the service desk system is not answering. Please try again in a few minutes, or call this number.",
                );
            }
        };
        let text: String = hook
            .param("Body")
            .trim()
            .chars()
            .take(MAX_TEXT_CHARS)
            .collect();
        if text.is_empty() {
            return reply(
                "Your message was empty. Please describe the problem in your text: what is affected, and how to reach you.",
            );
        }
        let group = line
            .group(line.sms_group)
            .expect("sms.group is validated at load");
        let state = CallState {
            admitted: Some(caller.admitted),
            who: Some(caller.name),
            caller_sys_id: caller.sys_id,
            caller_user: caller.sn_user,
            caller_masked: Some(number.masked()),
            ..CallState::default()
        };
        let report = Report {
            line,
            group,
            correlation: sid,
            caller: &state,
            source: Source::Sms { text: &text },
        };
        match self.ensure_incident(&report).await {
            Ok((record, _)) => {
                let next = match self.escalate(&record, &report).await {
                    Escalated::Started => "The on-call team is being called now.",
                    Escalated::NotForPriority(_) => "The team will pick it up.",
                    Escalated::Failed(_) => {
                        "The automatic call-out could not be started, so please also call the service desk."
                    }
                };
                tracing::info!(message = sid, incident = %record.number, "text filed as an incident");
                reply(&format!(
                    "Thank you. Your report is incident {} for the {} team. {next}",
                    record.number, group.name
                ))
            }
            Err(e) => {
                tracing::error!(message = sid, error = %e, "could not create the incident for a text");
                reply(
                    "Sorry, the incident could not be created because the service desk system did not answer. Please try again in a few minutes, or call this number.",
                )
            }
        }
    }
}
