//! The SMS path. When a call ends unanswered (no answer, busy, voicemail) and the person's
//! policy step asks for it, the person gets a text about the incident; the offer (which
//! escalation and attempt a reply from that number refers to) is stored first, with an
//! expiry. A reply 1 accepts through the one commit path, the same conditional write as a
//! key press: the first accept wins, whichever way it came. A reply 2 is noted; the walk
//! has already moved on. Off unless the engine is given a messenger and the offer store
//! ([`Engine::with_sms`]) and the step sets `"sms": true`.
//!
//! A text is sent at most once per person and escalation (the offer is opened
//! conditionally), and at most once per unanswered call: it is sent after the end of the
//! call was saved, and a redelivered event is a duplicate that sends nothing. A text that
//! cannot be sent is noted and counted; the calls go on as without it.

use super::{Engine, EngineError};
use crate::escalation::{Ignored, ReplyAcceptance, Status};
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

impl super::commit::Effects for ReplyAcceptance {
    fn update(&self) -> Option<&IncidentUpdate> {
        Some(&self.update)
    }
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
        if !person.sms_when_unanswered
            || esc.status() != Status::Active
            || !outcome.is_some_and(unanswered)
        {
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
    /// open offer; a 1 then accepts through the one commit path (the first accept wins).
    pub async fn on_sms_reply(&self, phone: &E164, reply: Reply) -> Result<SmsAnswer, EngineError> {
        let Some(parts) = &self.sms else {
            return Ok(SmsAnswer::NoOffer);
        };
        let now = self.now();
        let Some(offer) = parts.offers.find(phone, now).await? else {
            return Ok(SmsAnswer::NoOffer);
        };
        let (number, language) = (offer.incident_number.clone(), offer.language.clone());
        let stored = match self.ports.repo.load(&offer.sys_id).await? {
            Some(s) if s.escalation.id() == &offer.escalation_id => s,
            _ => {
                parts.offers.close(phone, &offer.escalation_id).await?;
                return Ok(SmsAnswer::NoOffer);
            }
        };
        let finished = |stored: &Stored| {
            let esc = &stored.escalation;
            match (esc.status(), esc.accepted_by()) {
                (Status::Accepted, Some(by)) => SmsAnswer::AlreadyAccepted {
                    number: number.clone(),
                    by: by.to_owned(),
                    language: language.clone(),
                },
                _ => SmsAnswer::Over {
                    number: number.clone(),
                    language: language.clone(),
                },
            }
        };
        let esc_id = offer.escalation_id.clone();
        let answer = match reply {
            Reply::Pass => {
                if stored.escalation.status().is_terminal() {
                    finished(&stored)
                } else {
                    let inc = stored.escalation.incident();
                    let note = notes::passed_by_text(
                        esc_id.as_str(),
                        offer.attempt,
                        &offer.person,
                        &phone.masked(),
                    );
                    self.ports
                        .outbox
                        .enqueue(&[IncidentUpdate::note(
                            format!("{esc_id}:sms:{}:reply", offer.attempt),
                            inc.sys_id.clone(),
                            &inc.number,
                            esc_id.clone(),
                            note,
                        )])
                        .await?;
                    tracing::info!(escalation_id = %esc_id, from = %phone.masked(), attempt = offer.attempt, "passed by text");
                    SmsAnswer::Passed {
                        number: number.clone(),
                        language: language.clone(),
                    }
                }
            }
            Reply::Accept => {
                let attempt = offer.attempt;
                match self
                    .commit(stored, |e| e.accept_by_reply(attempt, phone, now))
                    .await?
                {
                    Err((stored, Ignored::Finished(_))) => finished(&stored),
                    Err((_, reason)) => {
                        tracing::warn!(escalation_id = %esc_id, from = %phone.masked(), reason = %reason, "reply not applied");
                        SmsAnswer::Over {
                            number: number.clone(),
                            language: language.clone(),
                        }
                    }
                    Ok((stored, done)) => {
                        let esc = &stored.escalation;
                        tracing::info!(escalation_id = %esc.id(), incident = %esc.incident().number,
                            from = %phone.masked(), attempt, "accepted by text");
                        let tta = esc.updated_at().saturating_sub(esc.created_at()) as f64;
                        self.ports.metrics.incident(
                            esc.incident(),
                            &[(Metric::Accepts, 1.0), (Metric::TimeToAccept, tta)],
                        );
                        if let Some(sid) = &done.hang_up
                            && let Err(e) = self.ports.dialer.hang_up(sid).await
                        {
                            tracing::warn!(escalation_id = %esc.id(), execution = %sid, error = %e,
                                "could not hang up the ringing call after an accept by text");
                            self.ports
                                .metrics
                                .count("engine", Metric::HangUpFailures, 1);
                        }
                        SmsAnswer::Accepted {
                            number: number.clone(),
                            language: language.clone(),
                        }
                    }
                }
            }
        };
        parts.offers.close(phone, &esc_id).await?;
        Ok(answer)
    }
}
