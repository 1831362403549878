//! The conference bridge (key 4 after accepting an escalation call): the routes Twilio
//! requests once the Studio flow has handed the agent's call over.
//!
//! ```text
//! /bridge/open    the agent's call (TwiML Redirect from the flow): the next person of the
//!                 lineup is called (Calls API, Url = /bridge/whisper), a work note says so,
//!                 the agent is put into the conference named after the incident
//! /bridge/whisper the called person answered: who asks, for which incident; press 1
//! /bridge/join    their key: 1 joins the conference, anything else ends their call
//! /bridge/status  the conference's status callbacks (start, end, join, leave), kept once
//!                 each; at the end a work note: how long, who was on it, for how long
//! ```
//!
//! The handler has checked `X-Twilio-Signature` and the capability (`c`) that binds the URL
//! to one attempt of one escalation before any of this runs ([`BridgeRef`]). Every URL
//! handed out carries the same reference and capability; the call SIDs added to them are
//! covered by Twilio's signature.

use crate::twiml::{Conference, Gather, Speech, VoiceResponse};
use crate::{Inbound, MARK_TTL_SECS, Webhook, is_twilio_sid};
use escalation_core::bridge::{self, BridgeEvent, BridgeEventKind, BridgeParties};
use escalation_core::escalation::Escalation;
use escalation_core::model::{E164, EscalationId, SysId};
use escalation_core::notes;
use escalation_core::ports::{BridgeCapability, BridgeLog, Calls, Mark, OutboundCall};
use escalation_core::prompts::{self, BridgeScript};
use escalation_core::update::IncidentUpdate;
use std::sync::Arc;

/// What the bridge needs beyond the line: the Calls API, the callback log, the caller ID.
#[derive(Clone)]
pub struct BridgePorts {
    /// Checks the capability of each bridge URL (the handler asks it before anything else).
    pub capability: Arc<dyn BridgeCapability>,
    pub calls: Arc<dyn Calls>,
    pub log: Arc<dyn BridgeLog>,
    /// The caller ID the called person sees (the escalation's number).
    pub from: E164,
    /// How long the called person's phone rings.
    pub ring_timeout_secs: u32,
    /// Put-through calls of the inbound line become conference bridges (`CONFERENCE_BRIDGE`).
    pub put_through: bool,
}

/// The escalation attempt a bridge request is about, its capability already checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BridgeRef {
    pub escalation_id: EscalationId,
    pub sys_id: SysId,
    pub attempt: u32,
    /// The capability, handed on in the URLs we give Twilio.
    pub capability: String,
    /// `ag`: the agent's Call SID, once known (added to the URLs handed out after open).
    pub agent_call: String,
    /// `cc`: the called person's Call SID, once known.
    pub callee_call: String,
}

impl BridgeRef {
    /// The reference in a bridge URL's query (`e`, `s`, `a`, `c`, optional `ag`, `cc`);
    /// the capability is not checked here.
    pub fn from_query(query: &str) -> Result<BridgeRef, String> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|e| format!("bridge URL query is invalid: {e}"))?;
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let escalation_id = get("e");
        if escalation_id.is_empty() || escalation_id.len() > 64 {
            return Err("bridge URL without an escalation (e)".into());
        }
        let sys_id = SysId::parse(&get("s")).map_err(|e| format!("bridge URL: s: {e}"))?;
        let attempt = get("a")
            .parse()
            .map_err(|_| "bridge URL: a is not an attempt number".to_string())?;
        let sid = |k: &str| {
            Some(get(k))
                .filter(|v| is_twilio_sid(v))
                .unwrap_or_default()
        };
        Ok(BridgeRef {
            escalation_id: EscalationId::new(escalation_id),
            sys_id,
            attempt,
            capability: get("c"),
            agent_call: sid("ag"),
            callee_call: sid("cc"),
        })
    }
}

/// Seconds the called person has to press 1.
const WHISPER_TIMEOUT_SECS: u32 = 8;

impl BridgeRef {
    /// Whether the capability is the one the dialer wrote for this attempt.
    pub fn is_genuine(&self, ports: &BridgePorts) -> bool {
        ports.capability.verify(
            self.escalation_id.as_str(),
            self.sys_id.as_str(),
            self.attempt,
            &self.capability,
        )
    }

    fn url(&self, hook: &Webhook, path: &str, extra: &[(&str, &str)]) -> String {
        let mut url = format!(
            "{}{path}?e={}&s={}&a={}&c={}",
            hook.base, self.escalation_id, self.sys_id, self.attempt, self.capability
        );
        for (k, v) in extra {
            url.push_str(&format!("&{k}={v}"));
        }
        url
    }
}

fn speech_of(script: &BridgeScript) -> Speech {
    Speech {
        voice: Some(script.voice.to_owned()),
        language: Some(script.language.to_owned()),
    }
}

fn hang_up(sp: &Speech, text: &str) -> VoiceResponse {
    VoiceResponse::new().say(sp, text).hangup()
}

/// A SID from the form, only if it looks like one (it goes into URLs).
fn sid_of<'a>(hook: &'a Webhook, name: &str) -> &'a str {
    sid_of_text(hook.param(name))
}

impl Inbound {
    /// Answer one bridge route. `None`: no such route.
    pub async fn bridge(
        &self,
        step: &str,
        hook: &Webhook,
        at: &BridgeRef,
    ) -> Option<VoiceResponse> {
        let fallback = Speech::default();
        let Some(ports) = &self.bridge else {
            tracing::error!("a bridge request arrived but the bridge is not configured");
            return Some(hang_up(
                &fallback,
                "Sorry, the conference bridge is not available. Goodbye.",
            ));
        };
        let found = match self.engine.find(&at.sys_id).await {
            Ok(Some(s)) if s.escalation.id() == &at.escalation_id => Some(s.escalation),
            Ok(_) => None,
            Err(e) => {
                tracing::error!(escalation = %at.escalation_id, error = %e, "bridge: the escalation could not be read");
                None
            }
        };
        let parties = found.as_ref().and_then(|e| e.bridge_parties(at.attempt));
        let (Some(esc), Some(parties)) = (found, parties) else {
            return Some(hang_up(
                &fallback,
                "Sorry, this conference bridge cannot be opened. Goodbye.",
            ));
        };
        Some(match step {
            "/bridge/open" => self.open(ports, hook, at, &esc, &parties).await,
            "/bridge/whisper" => whisper(hook, at, &esc, &parties),
            "/bridge/join" => join(hook, at, &esc, &parties),
            "/bridge/status" => self.status(ports, hook, at, &esc, &parties).await,
            _ => return None,
        })
    }

    async fn open(
        &self,
        ports: &BridgePorts,
        hook: &Webhook,
        at: &BridgeRef,
        esc: &Escalation,
        parties: &BridgeParties,
    ) -> VoiceResponse {
        let number = &esc.incident().number;
        let callee_name = parties.callee.as_ref().map_or("", |p| p.name.as_str());
        let script = BridgeScript::new(
            prompts::locale(parties.language.as_deref()),
            number,
            &parties.acceptor,
            callee_name,
        );
        let sp = speech_of(&script);
        let agent_call = sid_of(hook, "CallSid");
        let conference = bridge::conference_name(number, &at.escalation_id);
        let first = Mark::BridgeOpened {
            escalation_id: at.escalation_id.to_string(),
            attempt: at.attempt,
        };
        let first_time = self.marks.put(&first, MARK_TTL_SECS).await.unwrap_or(true);
        let Some(callee) = parties.callee.clone() else {
            if first_time {
                self.bridge_note(
                    esc,
                    format!("{}:bridge:{}:opened", at.escalation_id, at.attempt),
                    notes::bridge_opened(
                        at.escalation_id.as_str(),
                        &parties.acceptor,
                        None,
                        &conference,
                    ),
                )
                .await;
            }
            return hang_up(&sp, &script.nobody);
        };
        let mut callee_call = String::new();
        if first_time {
            let call = OutboundCall {
                to: callee.phone.clone(),
                from: ports.from.clone(),
                url: at.url(hook, "/bridge/whisper", &[("ag", agent_call)]),
                ring_timeout_secs: ports.ring_timeout_secs,
            };
            match ports.calls.place(&call).await {
                Ok(sid) => callee_call = sid,
                Err(e) => {
                    tracing::error!(escalation = %at.escalation_id, to = %callee.phone.masked(), error = %e, "bridge: the next person could not be called");
                }
            }
            tracing::info!(escalation = %at.escalation_id, to = %callee.phone.masked(), "bridge opened; calling the next person in");
            self.bridge_note(
                esc,
                format!("{}:bridge:{}:opened", at.escalation_id, at.attempt),
                notes::bridge_opened(
                    at.escalation_id.as_str(),
                    &parties.acceptor,
                    Some(&callee),
                    &conference,
                ),
            )
            .await;
        }
        let status = at.url(
            hook,
            "/bridge/status",
            &[("ag", agent_call), ("cc", sid_of_text(&callee_call))],
        );
        VoiceResponse::new()
            .say(&sp, &script.opening)
            .conference(Conference {
                name: conference,
                status_callback: status,
                end_on_exit: true,
            })
    }

    async fn status(
        &self,
        ports: &BridgePorts,
        hook: &Webhook,
        at: &BridgeRef,
        esc: &Escalation,
        parties: &BridgeParties,
    ) -> VoiceResponse {
        let conference = hook.param("ConferenceSid");
        let Some(kind) = BridgeEventKind::from_twilio(hook.param("StatusCallbackEvent")) else {
            return VoiceResponse::new();
        };
        if !is_twilio_sid(conference) {
            tracing::warn!("bridge status callback without a ConferenceSid");
            return VoiceResponse::new();
        }
        if let Some(events) = self
            .keep_callback(ports, conference, kind, hook, "bridge")
            .await
        {
            let mut names = vec![(at.agent_call.clone(), parties.acceptor.clone())];
            if let Some(c) = &parties.callee {
                names.push((at.callee_call.clone(), c.name.clone()));
            }
            let summary = bridge::summarize(&events, &names);
            let name = bridge::conference_name(&esc.incident().number, &at.escalation_id);
            self.bridge_note(
                esc,
                format!("{}:bridge:{conference}:ended", at.escalation_id),
                notes::bridge_ended(at.escalation_id.as_str(), &name, &summary),
            )
            .await;
        }
        VoiceResponse::new()
    }

    async fn bridge_note(&self, esc: &Escalation, key: String, text: String) {
        let update = IncidentUpdate::note(
            key,
            esc.incident().sys_id.clone(),
            &esc.incident().number,
            esc.id().clone(),
            text,
        );
        if let Err(e) = self.outbox.enqueue(&[update]).await {
            tracing::error!(incident = %esc.incident().number, error = %e, "bridge: the work note could not be queued");
        }
    }
}

fn sid_of_text(s: &str) -> &str {
    if is_twilio_sid(s) { s } else { "" }
}

/// The person called in, in their own language.
fn callee_script(esc: &Escalation, parties: &BridgeParties) -> BridgeScript {
    let callee = parties.callee.as_ref();
    BridgeScript::new(
        prompts::locale(callee.and_then(|p| p.language.as_deref())),
        &esc.incident().number,
        &parties.acceptor,
        callee.map_or("", |p| p.name.as_str()),
    )
}

fn whisper(
    hook: &Webhook,
    at: &BridgeRef,
    esc: &Escalation,
    parties: &BridgeParties,
) -> VoiceResponse {
    let script = callee_script(esc, parties);
    let sp = speech_of(&script);
    let action = at.url(hook, "/bridge/join", &[("ag", &at.agent_call)]);
    VoiceResponse::new()
        .gather(
            Gather::digits(action, 1)
                .timeout(WHISPER_TIMEOUT_SECS)
                .say(&sp, &script.whisper),
        )
        .then(hang_up(&sp, &script.declined))
}

fn join(
    hook: &Webhook,
    at: &BridgeRef,
    esc: &Escalation,
    parties: &BridgeParties,
) -> VoiceResponse {
    let script = callee_script(esc, parties);
    let sp = speech_of(&script);
    if hook.param("Digits") != "1" {
        return hang_up(&sp, &script.declined);
    }
    let status = at.url(
        hook,
        "/bridge/status",
        &[("ag", &at.agent_call), ("cc", sid_of(hook, "CallSid"))],
    );
    VoiceResponse::new()
        .say(&sp, &script.joining)
        .conference(Conference {
            name: bridge::conference_name(&esc.incident().number, &at.escalation_id),
            status_callback: status,
            end_on_exit: false,
        })
}

impl Inbound {
    /// Keep a conference's status callback (once: the log is keyed by its SequenceNumber);
    /// at the conference's end, every callback kept for it (at least this one), else `None`.
    /// `what` names the bridge in the logs.
    pub(crate) async fn keep_callback(
        &self,
        ports: &BridgePorts,
        conference: &str,
        kind: BridgeEventKind,
        hook: &Webhook,
        what: &str,
    ) -> Option<Vec<BridgeEvent>> {
        let event = BridgeEvent {
            seq: hook.param("SequenceNumber").parse().unwrap_or(0),
            kind,
            call_sid: hook.param("CallSid").to_owned(),
            at_ms: escalation_core::time::parse_rfc2822_ms(hook.param("Timestamp"))
                .unwrap_or_else(|| self.clock.now_ms()),
        };
        if let Err(e) = ports.log.record(conference, &event).await {
            tracing::error!(conference, error = %e, "{what}: a status callback could not be kept");
        }
        if kind != BridgeEventKind::End {
            return None;
        }
        Some(ports.log.events(conference).await.unwrap_or_else(|e| {
            tracing::error!(conference, error = %e, "{what}: the status callbacks could not be read");
            vec![event]
        }))
    }
}
