//! A telephony side scripted per phone number: what happens when a call is placed, and how
//! the call ends.

use super::ManualClock;
use crate::model::{CallOutcome, ExecutionSid};
use crate::ports::Clock;
use crate::ports::{
    CallParams, CallReport, CallRequest, CallState, DialResult, Dialer, HangUpOutcome,
    TelephonyError, TelephonyErrorKind,
};
use async_trait::async_trait;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

/// What happens to one call placed to a number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlaceScript {
    /// The call is placed and is over: its end reads `outcome` (the event is the test's to
    /// deliver).
    Ends(CallOutcome),
    /// The call is placed and still rings until the test calls [`ScriptedDialer::finish`].
    Rings(CallOutcome),
    /// The person is on another escalation's call.
    OnAnotherCall,
    /// The number cannot be called.
    Unreachable(String),
    /// The request fails; no call is placed.
    Fails(TelephonyErrorKind),
    /// The call is placed, but the answer is lost (a timeout after the call was created).
    PlacedAnswerLost(CallOutcome),
    /// The invocation is killed (a panic) after it claimed the call and before the request
    /// left: no call is placed and the claim's lease stays until it runs out.
    DiesBeforePlacing,
    /// The call is placed and rings, then the invocation is killed (a panic) before it
    /// records the call: the lease stays and the call is known only to the telephony side.
    DiesAfterPlacing(CallOutcome),
    /// The call is placed and rings, and the answer to the request is slow: the dialer
    /// waits for it until the test calls [`ScriptedDialer::release`].
    Held(CallOutcome),
}

/// The dialer's operations, for [`ScriptedDialer::takes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DialOp {
    /// Waiting for a slot under the call rate.
    Reserve,
    /// Looking for a call an earlier dialer placed.
    FindPlaced,
    /// Placing a call.
    Place,
    /// Reading how a call ended.
    Report,
}

/// A call the engine placed.
#[derive(Clone, Debug, PartialEq)]
pub struct PlacedCall {
    pub sid: ExecutionSid,
    pub call: CallRequest,
    pub outcome: CallOutcome,
    pub active: bool,
    /// The telephony side no longer knows it.
    pub gone: bool,
}

#[derive(Default)]
struct State {
    scripts: HashMap<String, VecDeque<PlaceScript>>,
    placed: Vec<PlacedCall>,
    requests: usize,
    reserved: usize,
    ended_by_engine: Vec<ExecutionSid>,
    /// Calls the engine hung up (their execution ended too).
    hung_up: Vec<ExecutionSid>,
    failing_reports: usize,
    failing_hang_ups: usize,
    /// Calls someone else started on the flow (no escalation parameters).
    foreign: Vec<(ExecutionSid, CallOutcome)>,
    /// Dialers waiting for the answer to a held request, and answers released to them.
    held: usize,
    released: usize,
    wakers: Vec<Waker>,
    /// How long each operation takes on the test's clock.
    costs: HashMap<DialOp, u64>,
    clock: Option<Arc<ManualClock>>,
}

#[derive(Default)]
pub struct ScriptedDialer(Mutex<State>);

fn unavailable(message: &str) -> TelephonyError {
    TelephonyError {
        kind: TelephonyErrorKind::Unavailable,
        message: message.to_string(),
    }
}

impl ScriptedDialer {
    /// What the next calls to `number` do, in order. Without a script, a call ends
    /// unanswered.
    pub fn script(&self, number: &str, steps: impl IntoIterator<Item = PlaceScript>) {
        self.0
            .lock()
            .unwrap()
            .scripts
            .entry(number.to_string())
            .or_default()
            .extend(steps);
    }

    pub fn placed(&self) -> Vec<PlacedCall> {
        self.0.lock().unwrap().placed.clone()
    }

    /// The SIDs of calls placed to `number`.
    pub fn calls_to(&self, number: &str) -> Vec<ExecutionSid> {
        self.placed()
            .into_iter()
            .filter(|p| p.call.person.phone.as_str() == number)
            .map(|p| p.sid)
            .collect()
    }

    pub fn last_sid(&self) -> Option<ExecutionSid> {
        self.placed().last().map(|p| p.sid.clone())
    }

    /// Requests to place a call, placed or not.
    pub fn requests(&self) -> usize {
        self.0.lock().unwrap().requests
    }

    /// Slots taken under the call rate.
    pub fn reserved(&self) -> usize {
        self.0.lock().unwrap().reserved
    }

    /// Calls the engine ended (their execution only, or hung up).
    pub fn ended_by_engine(&self) -> Vec<ExecutionSid> {
        self.0.lock().unwrap().ended_by_engine.clone()
    }

    /// A ringing call ends.
    pub fn finish(&self, sid: &ExecutionSid) {
        if let Some(p) = self
            .0
            .lock()
            .unwrap()
            .placed
            .iter_mut()
            .find(|p| &p.sid == sid)
        {
            p.active = false;
        }
    }

    /// The telephony side forgets a call (it answers "not found" from now on).
    pub fn forget(&self, sid: &ExecutionSid) {
        if let Some(p) = self
            .0
            .lock()
            .unwrap()
            .placed
            .iter_mut()
            .find(|p| &p.sid == sid)
        {
            p.gone = true;
        }
    }

    /// A call someone else started on the same flow (say, a test run from the console),
    /// already over: it carries none of our parameters.
    pub fn foreign_call(&self, outcome: CallOutcome) -> ExecutionSid {
        let mut state = self.0.lock().unwrap();
        let sid = ExecutionSid::parse(&format!("FN{:032x}", 0xf0_0000 + state.foreign.len()))
            .expect("valid SID");
        state.foreign.push((sid.clone(), outcome));
        sid
    }

    /// How many dialers wait for the answer to a held request.
    pub fn held(&self) -> usize {
        self.0.lock().unwrap().held
    }

    /// The answer to one held request arrives.
    pub fn release(&self) {
        let mut state = self.0.lock().unwrap();
        state.released += 1;
        state.wakers.drain(..).for_each(Waker::wake);
    }

    async fn wait_for_release(&self) {
        std::future::poll_fn(|cx| {
            let mut state = self.0.lock().unwrap();
            if state.released > 0 {
                state.released -= 1;
                state.held -= 1;
                Poll::Ready(())
            } else {
                state.wakers.push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }

    /// Every `op` from now on takes `ms` on `clock` (which the dialer moves on).
    pub fn takes(&self, clock: &Arc<ManualClock>, op: DialOp, ms: u64) {
        let mut state = self.0.lock().unwrap();
        state.costs.insert(op, ms);
        state.clock = Some(clock.clone());
    }

    fn spend(&self, op: DialOp) {
        let state = self.0.lock().unwrap();
        if let (Some(ms), Some(clock)) = (state.costs.get(&op), &state.clock) {
            clock.set(clock.now_ms() + ms);
        }
    }

    /// The next `n` reads of how a call ended fail.
    pub fn fail_reports(&self, n: usize) {
        self.0.lock().unwrap().failing_reports = n;
    }

    /// The next `n` hang-ups fail (the call may still ring).
    pub fn fail_hang_ups(&self, n: usize) {
        self.0.lock().unwrap().failing_hang_ups = n;
    }

    /// Calls the engine hung up, in order (they are in [`ScriptedDialer::ended_by_engine`]
    /// too: hanging up ends the execution).
    pub fn hung_up(&self) -> Vec<ExecutionSid> {
        self.0.lock().unwrap().hung_up.clone()
    }

    /// Place a call now; `true`: the answer is held until [`ScriptedDialer::release`].
    fn place_now(&self, call: &CallRequest) -> (Result<DialResult, TelephonyError>, bool) {
        let mut state = self.0.lock().unwrap();
        state.requests += 1;
        let to = call.person.phone.as_str().to_string();
        // A call for this very attempt that is still ringing: the telephony side refuses a
        // second one for the same person and names it.
        if let Some(p) = state
            .placed
            .iter()
            .find(|p| p.active && !p.gone && p.call.person.phone == call.person.phone)
        {
            let refused =
                if p.call.escalation_id == call.escalation_id && p.call.attempt == call.attempt {
                    DialResult::AlreadyOurs(p.sid.clone())
                } else {
                    DialResult::OnAnotherCall
                };
            return (Ok(refused), false);
        }
        let step = state
            .scripts
            .get_mut(&to)
            .and_then(VecDeque::pop_front)
            .unwrap_or(PlaceScript::Ends(CallOutcome::NoAnswer));
        let placed = match step {
            PlaceScript::Ends(outcome) => {
                DialResult::Placed(self.record(&mut state, call, outcome, false))
            }
            PlaceScript::Rings(outcome) => {
                DialResult::Placed(self.record(&mut state, call, outcome, true))
            }
            PlaceScript::Held(outcome) => {
                let sid = self.record(&mut state, call, outcome, true);
                state.held += 1;
                return (Ok(DialResult::Placed(sid)), true);
            }
            PlaceScript::OnAnotherCall => DialResult::OnAnotherCall,
            PlaceScript::Unreachable(why) => DialResult::Unreachable(why),
            PlaceScript::Fails(kind) => {
                let e = TelephonyError {
                    kind,
                    message: "injected telephony fault".into(),
                };
                return (Err(e), false);
            }
            PlaceScript::PlacedAnswerLost(outcome) => {
                self.record(&mut state, call, outcome, true);
                let lost = TelephonyError {
                    kind: TelephonyErrorKind::OutcomeUnknown,
                    message: "no answer to the create request".into(),
                };
                return (Err(lost), false);
            }
            // The lock is released first: a killed invocation leaves no poisoned state.
            PlaceScript::DiesBeforePlacing => {
                drop(state);
                panic!("injected crash: killed after the claim, before placing the call");
            }
            PlaceScript::DiesAfterPlacing(outcome) => {
                self.record(&mut state, call, outcome, true);
                drop(state);
                panic!("injected crash: killed after placing the call, before recording it");
            }
        };
        (Ok(placed), false)
    }

    fn record(
        &self,
        state: &mut State,
        call: &CallRequest,
        outcome: CallOutcome,
        active: bool,
    ) -> ExecutionSid {
        let sid =
            ExecutionSid::parse(&format!("FN{:032x}", state.placed.len() + 1)).expect("valid SID");
        state.placed.push(PlacedCall {
            sid: sid.clone(),
            call: call.clone(),
            outcome,
            active,
            gone: false,
        });
        sid
    }
}

#[async_trait]
impl Dialer for ScriptedDialer {
    async fn reserve(&self) -> Result<(), TelephonyError> {
        self.spend(DialOp::Reserve);
        self.0.lock().unwrap().reserved += 1;
        Ok(())
    }

    async fn place(&self, call: &CallRequest) -> Result<DialResult, TelephonyError> {
        self.spend(DialOp::Place);
        let (result, held) = self.place_now(call);
        if held {
            self.wait_for_release().await;
        }
        result
    }

    async fn find_placed(
        &self,
        call: &CallRequest,
    ) -> Result<Option<ExecutionSid>, TelephonyError> {
        self.spend(DialOp::FindPlaced);
        Ok(self
            .placed()
            .into_iter()
            .find(|p| {
                // As Twilio's side reads it: a bundle call is found for any of its members.
                let ours = (p.call.escalation_id == call.escalation_id
                    && p.call.attempt == call.attempt)
                    || p.call.bundle.iter().any(|b| {
                        b.escalation_id == call.escalation_id && b.attempt == call.attempt
                    });
                !p.gone && ours && p.call.person.phone == call.person.phone
            })
            .map(|p| p.sid))
    }

    async fn report(&self, sid: &ExecutionSid) -> Result<Option<CallReport>, TelephonyError> {
        self.spend(DialOp::Report);
        let mut state = self.0.lock().unwrap();
        if state.failing_reports > 0 {
            state.failing_reports -= 1;
            return Err(unavailable("injected telephony fault"));
        }
        if let Some((_, outcome)) = state.foreign.iter().find(|(s, _)| s == sid) {
            return Ok(Some(CallReport {
                params: None,
                outcome: outcome.clone(),
            }));
        }
        Ok(state
            .placed
            .iter()
            .find(|p| &p.sid == sid && !p.gone)
            .map(|p| CallReport {
                params: Some(CallParams {
                    escalation_id: p.call.escalation_id.clone(),
                    sys_id: p.call.incident.sys_id.clone(),
                    attempt: p.call.attempt,
                    bundle: p.call.bundle.iter().map(|b| b.member()).collect(),
                }),
                outcome: p.outcome.clone(),
            }))
    }

    async fn state(&self, sid: &ExecutionSid) -> Result<CallState, TelephonyError> {
        let state = self.0.lock().unwrap();
        Ok(match state.placed.iter().find(|p| &p.sid == sid) {
            None => CallState::Gone,
            Some(p) if p.gone => CallState::Gone,
            Some(p) if p.active => CallState::Active,
            Some(_) => CallState::Ended,
        })
    }

    async fn end(&self, sid: &ExecutionSid) -> Result<(), TelephonyError> {
        let mut state = self.0.lock().unwrap();
        state.ended_by_engine.push(sid.clone());
        if let Some(p) = state.placed.iter_mut().find(|p| &p.sid == sid) {
            p.active = false;
        }
        Ok(())
    }

    async fn hang_up(&self, sid: &ExecutionSid) -> Result<HangUpOutcome, TelephonyError> {
        let mut state = self.0.lock().unwrap();
        if state.failing_hang_ups > 0 {
            state.failing_hang_ups -= 1;
            return Err(unavailable("injected telephony fault"));
        }
        state.hung_up.push(sid.clone());
        state.ended_by_engine.push(sid.clone());
        Ok(
            match state.placed.iter_mut().find(|p| &p.sid == sid && p.active) {
                Some(p) => {
                    p.active = false;
                    HangUpOutcome::HungUp
                }
                None => HangUpOutcome::NoCall,
            },
        )
    }
}
