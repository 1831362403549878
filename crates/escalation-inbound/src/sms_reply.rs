//! A reply to an escalation text: "1" or "2" from a number the engine texted after an
//! unanswered call. It is a decision on that escalation and attempt, applied by the engine
//! (`Engine::on_sms_reply`: a 1 accepts through the same conditional write as a key press,
//! so the first accept wins). A 1 or 2 from a number without an open offer is answered so
//! and changes nothing. Any other text goes on to the line's report handling.

use crate::callers::caller_number;
use crate::twiml::MessagingResponse;
use crate::{Inbound, Webhook};
use escalation_core::messaging::Reply;
use escalation_core::prompts;

impl Inbound {
    /// The answer to `hook` if it is a reply (a lone 1 or 2) and the engine texts people;
    /// `None` for any other message.
    pub async fn sms_reply(&self, hook: &Webhook) -> Option<MessagingResponse> {
        let reply = Reply::parse(hook.param("Body"))?;
        if !self.engine.has_sms() {
            return None;
        }
        let texts = &prompts::locale(None).texts.sms;
        let Some(from) = caller_number(hook.param("From")) else {
            tracing::info!("reply without a usable sender number");
            return Some(MessagingResponse::new().message(texts.no_offer));
        };
        let text = match self.engine.on_sms_reply(&from, reply).await {
            Ok(answer) => {
                tracing::info!(from = %from.masked(), reply = ?reply, answer = ?answer, "reply to an escalation text");
                answer.text()
            }
            Err(e) => {
                tracing::error!(from = %from.masked(), error = %e, "could not apply a reply to an escalation text");
                texts.failed.to_owned()
            }
        };
        Some(MessagingResponse::new().message(&text))
    }
}
