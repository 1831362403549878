//! The engine's dialer on Twilio Studio: a call is an execution of the escalation flow.
//!
//! Studio refuses a second active execution for the same contact (409, code 20409, naming
//! the running one): if that execution carries this very attempt's parameters it is ours
//! (an earlier try created it) and is adopted; otherwise the person is on another
//! escalation's call. A 400 means Twilio refused this number. Everything else is an
//! error, retryable or not.

use super::calls::CallsClient;
use super::contract::{self, ExecutionContext};
use super::error::TwilioError;
use super::studio::{NewExecution, StudioClient};
use crate::signing::BridgeKey;
use async_trait::async_trait;
use escalation_core::escalation::CREATE_BUDGET_MS;
use escalation_core::model::{E164, ExecutionSid};
use escalation_core::ports::{
    CallReport, CallRequest, CallState, DialResult, Dialer, HangUpOutcome, TelephonyError,
    TelephonyErrorKind,
};
use std::time::Duration;

/// How far before an attempt began the orphan search looks (clock skew, and the filter's
/// one-second resolution).
const ORPHAN_SEARCH_SLACK_MS: u64 = 60_000;

#[derive(Clone, Debug)]
pub struct StudioDialer {
    client: StudioClient,
    /// The caller ID every call shows.
    from: E164,
    /// voice-inbound's public URL and the key of the bridge capability: with it, the call
    /// offers key 4 (open a conference bridge) after an accept.
    bridge: Option<(String, BridgeKey)>,
    /// Where the flow reports a key at once (off: read at the end of the call only).
    decision: Option<contract::DecisionLink>,
    /// The Calls API, to hang up an attempt's call (without it, hanging up ends the
    /// execution only).
    calls: Option<CallsClient>,
}

impl StudioDialer {
    pub fn new(client: StudioClient, from: E164) -> Self {
        StudioDialer {
            client,
            from,
            bridge: None,
            decision: None,
            calls: None,
        }
    }

    /// Hang up attempts' calls through the Calls API (the same account as the flow).
    pub fn with_calls(mut self, calls: CallsClient) -> Self {
        self.calls = Some(calls);
        self
    }

    /// Offer the bridge: `base_url` is voice-inbound's public URL (no trailing slash needed).
    pub fn with_bridge(mut self, base_url: &str, key: BridgeKey) -> Self {
        self.bridge = Some((base_url.trim_end_matches('/').to_owned(), key));
        self
    }

    /// The URL the flow hands the call to after a 4, carrying the call's capability.
    pub fn bridge_url(&self, call: &CallRequest) -> Option<String> {
        let (base, key) = self.bridge.as_ref()?;
        let (esc, sys_id) = (call.escalation_id.as_str(), call.incident.sys_id.as_str());
        Some(format!(
            "{base}{}?e={esc}&s={sys_id}&a={}&c={}",
            contract::BRIDGE_OPEN_PATH,
            call.attempt,
            key.capability(esc, sys_id, call.attempt)
        ))
    }

    /// Calls carry the decision endpoint and their attempt's token, so the flow reports
    /// the key pressed at once.
    pub fn with_decisions(mut self, link: contract::DecisionLink) -> Self {
        self.decision = Some(link);
        self
    }

    pub fn client(&self) -> &StudioClient {
        &self.client
    }

    fn sid(text: &str) -> Result<ExecutionSid, TwilioError> {
        ExecutionSid::parse(text).map_err(|e| TwilioError::Decode {
            status: 200,
            detail: e.to_string(),
        })
    }

    async fn context(&self, sid: &ExecutionSid) -> Result<ExecutionContext, TwilioError> {
        self.client.fetch_context(sid).await
    }
}

/// A failed create, as the engine must treat it: after a timeout, a transport error or a
/// 5xx other than 503 the request may have been carried out (a call may ring); after a 503
/// or a 429 it was not.
fn create_error(e: TwilioError) -> TelephonyError {
    let unknown = e.may_have_been_processed();
    let mut mapped = TelephonyError::from(e);
    if unknown {
        mapped.kind = TelephonyErrorKind::OutcomeUnknown;
    }
    mapped
}

#[async_trait]
impl Dialer for StudioDialer {
    async fn reserve(&self) -> Result<(), TelephonyError> {
        Ok(self.client.reserve_create().await?)
    }

    async fn place(&self, call: &CallRequest) -> Result<DialResult, TelephonyError> {
        let mut parameters = contract::parameters(call);
        // A call about several incidents is decided when it ends (each incident's own
        // escalation applies the key) and offers no bridge.
        let bundled = !call.bundle.is_empty();
        if let Some(link) = self.decision.as_ref().filter(|_| !bundled) {
            contract::add_decision(&mut parameters, call, link);
        }
        if let Some(url) = self.bridge_url(call).filter(|_| !bundled) {
            parameters = contract::with_bridge_url(parameters, url);
        }
        let new = NewExecution {
            to: call.person.phone.as_str().to_string(),
            from: self.from.as_str().to_string(),
            parameters,
        };
        let budget = Duration::from_millis(CREATE_BUDGET_MS);
        let created = tokio::time::timeout(budget, self.client.create_execution(&new))
            .await
            .unwrap_or_else(|_| {
                Err(TwilioError::Transport(format!(
                    "no execution created within {} s",
                    budget.as_secs()
                )))
            });
        match created {
            Ok(exec) => Ok(DialResult::Placed(Self::sid(&exec.sid)?)),
            Err(TwilioError::Conflict {
                conflicting_execution_sid,
            }) => {
                let sid = Self::sid(&conflicting_execution_sid)?;
                let ours = self
                    .context(&sid)
                    .await?
                    .params()
                    .is_some_and(|p| p.is_for(&call.escalation_id, call.attempt));
                Ok(if ours {
                    DialResult::AlreadyOurs(sid)
                } else {
                    DialResult::OnAnotherCall
                })
            }
            // Twilio refused this number. Other permanent errors (credentials, a missing
            // flow) would hit everyone alike: they are errors, not a reason to skip people.
            Err(e @ TwilioError::Api { status: 400, .. }) => {
                Ok(DialResult::Unreachable(e.to_string()))
            }
            Err(e) => Err(create_error(e)),
        }
    }

    async fn find_placed(
        &self,
        call: &CallRequest,
    ) -> Result<Option<ExecutionSid>, TelephonyError> {
        let since = call
            .attempt_started_at
            .saturating_sub(ORPHAN_SEARCH_SLACK_MS);
        let to = call.person.phone.as_str();
        for exec in self.client.list_executions(since).await? {
            if exec.contact_channel_address.as_deref() != Some(to) {
                continue;
            }
            let Ok(sid) = ExecutionSid::parse(&exec.sid) else {
                continue;
            };
            if self
                .context(&sid)
                .await?
                .params()
                .is_some_and(|p| p.is_for(&call.escalation_id, call.attempt))
            {
                return Ok(Some(sid));
            }
        }
        Ok(None)
    }

    async fn report(&self, sid: &ExecutionSid) -> Result<Option<CallReport>, TelephonyError> {
        match self.context(sid).await {
            Ok(ctx) => Ok(Some(CallReport {
                params: ctx.params(),
                outcome: ctx.outcome(),
            })),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn state(&self, sid: &ExecutionSid) -> Result<CallState, TelephonyError> {
        match self.client.fetch_execution(sid).await {
            Ok(exec) if exec.is_active() => Ok(CallState::Active),
            Ok(_) => Ok(CallState::Ended),
            Err(e) if e.is_not_found() => Ok(CallState::Gone),
            Err(e) => Err(e.into()),
        }
    }

    async fn end(&self, sid: &ExecutionSid) -> Result<(), TelephonyError> {
        self.client.end_execution(sid).await?;
        Ok(())
    }

    async fn hang_up(&self, sid: &ExecutionSid) -> Result<HangUpOutcome, TelephonyError> {
        let hung_up = match &self.calls {
            Some(calls) => self.hang_up_call(calls, sid).await,
            None => Ok(false),
        };
        // The execution is ended whatever became of the call: the flow says nothing more.
        let ended = match self.client.end_execution(sid).await {
            Err(e) if !e.is_not_found() => Err(e),
            _ => Ok(()),
        };
        match (hung_up, ended) {
            (Ok(true), _) => Ok(HangUpOutcome::HungUp),
            (Ok(false), Ok(())) => Ok(HangUpOutcome::NoCall),
            (Err(e), _) | (Ok(false), Err(e)) => Err(mask(e)),
        }
    }
}

impl StudioDialer {
    /// Hang up the live call of execution `sid`: the one its context names (once a widget
    /// ran on it), else the live call to its contact from our caller ID (a ringing call is
    /// not in the context yet; Studio runs one execution per contact at a time). `false`:
    /// no call of it was live.
    async fn hang_up_call(
        &self,
        calls: &CallsClient,
        sid: &ExecutionSid,
    ) -> Result<bool, TwilioError> {
        let named = match self.context(sid).await {
            Ok(ctx) => ctx.call_sid(),
            Err(e) if e.is_not_found() => return Ok(false),
            Err(e) => return Err(e),
        };
        let live = match named {
            Some(call_sid) => match calls.fetch(&call_sid).await {
                Ok(call) => call.is_live().then_some(call.sid),
                Err(e) if e.is_not_found() => None,
                Err(e) => return Err(e),
            },
            None => {
                let exec = match self.client.fetch_execution(sid).await {
                    Ok(exec) => exec,
                    Err(e) if e.is_not_found() => return Ok(false),
                    Err(e) => return Err(e),
                };
                match exec.contact_channel_address {
                    Some(to) if exec.is_active() => calls
                        .live_calls(&to, self.from.as_str())
                        .await?
                        .into_iter()
                        .next()
                        .map(|c| c.sid),
                    _ => None,
                }
            }
        };
        let Some(call_sid) = live else {
            return Ok(false);
        };
        match calls.hang_up(&call_sid).await {
            Ok(_) => Ok(true),
            // It ended in the meantime (gone, or "not in a state that can be changed").
            Err(e) if e.is_not_found() => Ok(false),
            Err(TwilioError::Api {
                code: Some(CALL_NOT_LIVE),
                ..
            }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// Twilio's code for an update of a call that is no longer in progress.
const CALL_NOT_LIVE: i64 = 21220;

/// A hang-up error for the engine, with any phone number Twilio quoted masked.
fn mask(e: TwilioError) -> TelephonyError {
    let mut mapped = TelephonyError::from(e);
    mapped.message = escalation_core::model::phone::mask_all(&mapped.message);
    mapped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_create_that_may_have_been_carried_out_is_told_apart_from_one_that_was_not() {
        let kind = |e| create_error(e).kind;
        assert_eq!(
            kind(TwilioError::Transport(
                "no execution created within 20 s".into()
            )),
            TelephonyErrorKind::OutcomeUnknown
        );
        let api = |status| TwilioError::Api {
            status,
            code: None,
            message: String::new(),
        };
        assert_eq!(kind(api(502)), TelephonyErrorKind::OutcomeUnknown);
        assert_eq!(kind(api(503)), TelephonyErrorKind::Unavailable);
        assert_eq!(
            kind(TwilioError::RateLimited { retry_after: None }),
            TelephonyErrorKind::Unavailable
        );
        assert_eq!(kind(api(401)), TelephonyErrorKind::Rejected);
    }
}
