//! The SMS path. When a call ends unanswered (no answer, busy, voicemail) and the person's
//! policy step asks for it, the person gets a text about the incident; the offer (which
//! escalation and attempt a reply from that number refers to) is stored first, with an
//! expiry. A reply is that person's decision, applied as a key press is
//! ([`Engine::on_live_decision`]): a 1 accepts (the first accept wins, whichever way it
//! came), a 2 passes (their pending redial is skipped; when the walk has already moved on,
//! it is noted). The text is sent after the last call of the walk too: while its offer
//! lives, a 1 still takes the exhausted escalation's incident. Off unless the engine is
//! given a messenger and the offer store ([`Engine::with_sms`]) and the step sets
//! `"sms": true`.
//!
//! A text is sent at most once per person and escalation (the offer is opened
//! conditionally), and at most once per unanswered call: it is sent after the end of the
//! call was saved, and a redelivered event is a duplicate that sends nothing. A text that
//! cannot be sent is noted and counted; the calls go on as without it.

use super::{Choice, Engine, EngineError, LiveDecision, Verdict};
use crate::escalation::Status;
use crate::messaging::{MessagingErrorKind, Messenger, OFFER_TTL_SECS, Reply, SmsOffer, SmsOffers};
use crate::model::{CallOutcome, E164, Person};
use crate::notes;
use crate::ports::{Metric, Stored};
use crate::prompts::{self, sms};
use crate::update::IncidentUpdate;
use std::sync::Arc;

/// The SMS path's adapters.
#[derive(Clone)]
pub struct SmsParts {
    pub messenger: Arc<dyn Messenger>,
    pub offers: Arc<dyn SmsOffers>,
}

/// What became of a reply, and what to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsAnswer {
    /// The 1 was applied: the incident is the person's.
    Accepted {
        number: String,
        language: Option<String>,
    },
    /// The 2 was noted.
    Passed {
        number: String,
        language: Option<String>,
    },
    /// Someone accepted first; nothing changed.
    AlreadyAccepted {
        number: String,
        by: String,
        language: Option<String>,
    },
    /// The escalation ended without an accept (exhausted, cancelled); nothing changed.
    Over {
        number: String,
        language: Option<String>,
    },
    /// No open offer for the number; nothing changed.
    NoOffer,
}

impl SmsAnswer {
    /// The answer, in the language of the person the offer was sent to.
    pub fn text(&self) -> String {
        let t = |language: &Option<String>| &prompts::locale(language.as_deref()).texts.sms;
        match self {
            SmsAnswer::Accepted { number, language } => sms::fill(t(language).accepted, number, ""),
            SmsAnswer::Passed { number, language } => sms::fill(t(language).passed, number, ""),
            SmsAnswer::AlreadyAccepted {
                number,
                by,
                language,
            } => sms::fill(t(language).taken, number, by),
            SmsAnswer::Over { number, language } => sms::fill(t(language).over, number, ""),
            SmsAnswer::NoOffer => t(&None).no_offer.to_owned(),
        }
    }
}

fn unanswered(outcome: &CallOutcome) -> bool {
    matches!(
        outcome,
        CallOutcome::NoAnswer | CallOutcome::Busy | CallOutcome::Machine
    )
}

impl Engine {
    /// This engine texts people whose call was not answered, when their step asks for it.
    pub fn with_sms(mut self, parts: SmsParts) -> Engine {
        self.sms = Some(parts);
        self
    }

    /// Whether this engine has the SMS path.
    pub fn has_sms(&self) -> bool {
        self.sms.is_some()
    }

    /// After the end of call `attempt` to `person` was saved: text them if the call went
    /// unanswered, their step asks for it and the escalation goes on. Never fails the
    /// event: a text that cannot be sent is noted and counted.
    pub(super) async fn offer_sms(&self, stored: &Stored, attempt: u32, person: &Person) {
        let Some(parts) = &self.sms else { return };
        let esc = &stored.escalation;
        let outcome = esc
            .history()
            .iter()
            .find(|h| h.number == attempt)
            .map(|h| &h.outcome);
        // After the last call of the walk too: the offer lives on, and an accept by text
        // still takes the incident (crate::escalation's `reply`).
        let live = matches!(esc.status(), Status::Active | Status::Exhausted);
        if !person.sms_when_unanswered || !live || !outcome.is_some_and(unanswered) {
            return;
        }
        let now = self.now();
        let incident = esc.incident();
        let offer = SmsOffer {
            phone: person.phone.clone(),
            sys_id: incident.sys_id.clone(),
            escalation_id: esc.id().clone(),
            incident_number: incident.number.clone(),
            attempt,
            person: person.name.clone(),
            language: person.language.clone(),
            expires_at: now + OFFER_TTL_SECS * 1000,
        };
        match parts.offers.open(&offer, now).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(escalation_id = %esc.id(), to = %person.phone.masked(), attempt,
                    "already texted this person in this escalation; no second text");
                return;
            }
            Err(e) => {
                tracing::error!(escalation_id = %esc.id(), error = %e, "could not store the SMS offer; no text sent");
                self.ports.metrics.count("engine", Metric::SmsFailures, 1);
                return;
            }
        }
        let body = sms::offer(prompts::locale(person.language.as_deref()), incident);
        let note = match parts.messenger.send(&person.phone, &body).await {
            Ok(id) => {
                tracing::info!(escalation_id = %esc.id(), incident = %incident.number,
                    to = %person.phone.masked(), attempt, message = %id, "text message sent after an unanswered call");
                self.ports.metrics.count("engine", Metric::SmsSent, 1);
                notes::sms_sent(esc.id().as_str(), attempt, person)
            }
            Err(e) => {
                tracing::warn!(escalation_id = %esc.id(), to = %person.phone.masked(), attempt,
                    kind = ?e.kind, error = %e, "text message could not be sent");
                self.ports.metrics.count("engine", Metric::SmsFailures, 1);
                let _ = parts.offers.close(&person.phone, esc.id()).await;
                let why = match e.kind {
                    MessagingErrorKind::Undeliverable => "the number does not take text messages",
                    MessagingErrorKind::Unavailable => "the messaging service was not available",
                    MessagingErrorKind::Rejected => {
                        "the messaging service refused it (check the sender number and credentials)"
                    }
                };
                notes::sms_failed(esc.id().as_str(), attempt, person, why)
            }
        };
        let update = IncidentUpdate::note(
            format!("{}:sms:{attempt}", esc.id()),
            incident.sys_id.clone(),
            &incident.number,
            esc.id().clone(),
            note,
        );
        if let Err(e) = self.ports.outbox.enqueue(&[update]).await {
            tracing::error!(escalation_id = %esc.id(), error = %e, "could not queue the SMS note");
        }
    }

    /// A reply from `phone` to an escalation text. Nothing changes unless the number has an
    /// open offer; the reply is then the decision of the person of the offer's attempt,
    /// applied as every decision is ([`Engine::on_live_decision`]): the first accept wins,
    /// a 2 skips their pending redial.
    pub async fn on_sms_reply(&self, phone: &E164, reply: Reply) -> Result<SmsAnswer, EngineError> {
        let Some(parts) = &self.sms else {
            return Ok(SmsAnswer::NoOffer);
        };
        let Some(offer) = parts.offers.find(phone, self.now()).await? else {
            return Ok(SmsAnswer::NoOffer);
        };
        let decision = LiveDecision {
            incident: offer.sys_id.clone(),
            escalation_id: offer.escalation_id.clone(),
            attempt: offer.attempt,
            execution: None,
            choice: match reply {
                Reply::Accept => Choice::Accept,
                Reply::Pass => Choice::Pass(None),
            },
        };
        let (number, language) = (offer.incident_number, offer.language);
        let answer = match self.on_live_decision(&decision).await? {
            None => SmsAnswer::NoOffer,
            Some(r) => match r.verdict {
                Verdict::Assigned => SmsAnswer::Accepted { number, language },
                Verdict::Passed => SmsAnswer::Passed { number, language },
                Verdict::AlreadyAccepted { by } => SmsAnswer::AlreadyAccepted {
                    number,
                    by,
                    language,
                },
                Verdict::NoLongerNeeded | Verdict::OtherCall => {
                    SmsAnswer::Over { number, language }
                }
            },
        };
        tracing::info!(escalation_id = %offer.escalation_id, from = %phone.masked(),
            attempt = offer.attempt, ?reply, ?answer, "text reply");
        parts.offers.close(phone, &offer.escalation_id).await?;
        Ok(answer)
    }
}
