//! Fault injection: Lambdas killed mid-flight (around the Twilio call, before the next
//! call), a trigger held up by the rate limit, flow-end events that never arrive, calls that
//! overrun, Twilio down when the first call is dialled; the sweeper recovers each. Every test counts calls
//! placed (duplicates must be 0) and notes written (lost must be 0).

mod support;

use escalation_adapters::twilio::StudioDialer;
use escalation_core::escalation::{DIAL_LEASE_MS, Phase, REDRIVE_AFTER_MS, Status};
use escalation_core::model::ExecutionSid;
use escalation_core::ports::{
    CallReport, CallRequest, CallState, DialResult, Dialer, HangUpOutcome, TelephonyError,
};
use escalation_core::usecase::{Engine, Ports, SweepReport};
use escalation_devtools::stack::{ALICE, BOB, Stack, StackOptions};
use escalation_lambda::handlers::{FlowEvents, Trigger};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use support::{
    FAULT_IDS, calls_over, complete, dialled, fault, held_stack, press, press_after, sys_id,
};

/// Where the crash happens.
#[derive(Clone, Copy, PartialEq)]
enum Crash {
    BeforeCreate,
    AfterCreate,
}

/// The real dialer with faults of a Lambda's life: it can die once at a chosen point
/// (killed mid-call), and its rate-limit slot can be held back until a gate opens (queued
/// behind a storm of creates at Twilio's 20 per second).
struct TestDialer {
    inner: Arc<StudioDialer>,
    crash: Option<(Crash, AtomicBool)>,
    /// (gate, told when a dialer starts waiting at it)
    gate: Option<(Arc<tokio::sync::Semaphore>, Arc<tokio::sync::Notify>)>,
}

impl TestDialer {
    fn crash_now(&self, at: Crash) -> bool {
        self.crash
            .as_ref()
            .is_some_and(|(c, armed)| *c == at && armed.swap(false, Ordering::SeqCst))
    }
}

#[async_trait::async_trait]
impl Dialer for TestDialer {
    async fn reserve(&self) -> Result<(), TelephonyError> {
        if let Some((gate, waiting)) = &self.gate {
            waiting.notify_one();
            gate.acquire().await.expect("gate").forget();
        }
        self.inner.reserve().await
    }
    async fn place(&self, call: &CallRequest) -> Result<DialResult, TelephonyError> {
        if self.crash_now(Crash::BeforeCreate) {
            panic!("injected crash: killed after writing DIALING, before calling Twilio");
        }
        let placed = self.inner.place(call).await?;
        if self.crash_now(Crash::AfterCreate) {
            panic!(
                "injected crash: killed after Twilio created the call, before the SID was recorded"
            );
        }
        Ok(placed)
    }
    async fn find_placed(
        &self,
        call: &CallRequest,
    ) -> Result<Option<ExecutionSid>, TelephonyError> {
        self.inner.find_placed(call).await
    }
    async fn report(&self, sid: &ExecutionSid) -> Result<Option<CallReport>, TelephonyError> {
        self.inner.report(sid).await
    }
    async fn state(&self, sid: &ExecutionSid) -> Result<CallState, TelephonyError> {
        self.inner.state(sid).await
    }
    async fn end(&self, sid: &ExecutionSid) -> Result<(), TelephonyError> {
        self.inner.end(sid).await
    }
    async fn hang_up(&self, sid: &ExecutionSid) -> Result<HangUpOutcome, TelephonyError> {
        self.inner.hang_up(sid).await
    }
}

/// The stack's engine with `dialer` in place of its Twilio dialer.
fn engine_with(stack: &Stack, dialer: impl FnOnce(Arc<StudioDialer>) -> TestDialer) -> Engine {
    let ports = Ports {
        dialer: Arc::new(dialer(stack.parts.dialer.clone())),
        ..stack.parts.ports()
    };
    Engine::new(ports, stack.parts.settings.clone())
}

fn crashing_engine(stack: &Stack, at: Crash) -> Engine {
    engine_with(stack, |inner| TestDialer {
        inner,
        crash: Some((at, AtomicBool::new(true))),
        gate: None,
    })
}

type TriggerRun =
    tokio::task::JoinHandle<Result<lambda_http::Response<lambda_http::Body>, lambda_http::Error>>;

/// A new P1 incident and the business rule's signed request for it, handled by a trigger
/// with `engine` on a task of its own (a panic there is a killed invocation).
fn spawn_trigger(stack: &Stack, engine: Engine, id: &str, number: &str) -> TriggerRun {
    stack.sn.add_incident(id, number, "Crash", "1");
    let body =
        json!({"sys_id": id, "number": number, "short_description": "Crash", "priority": "1"})
            .to_string();
    let req =
        lambda_http::request::from_str(&stack.signed_event(&body, "application/json").to_string())
            .unwrap();
    let trigger = Trigger {
        engine,
        ..stack.trigger.clone()
    };
    tokio::spawn(async move { trigger.handle(req).await })
}

/// The sweeper's run once a dead invocation's dial lease has run out.
async fn sweep_after_lease(stack: &Stack) -> SweepReport {
    stack.sweep_ahead(DIAL_LEASE_MS + 1_000).await
}

/// The phase of the escalation's current attempt.
async fn phase(stack: &Stack, id: &str) -> Phase {
    stack
        .escalation(id)
        .await
        .unwrap()
        .escalation
        .current()
        .unwrap()
        .phase
}

#[tokio::test]
async fn a_trigger_killed_around_the_twilio_call_ends_in_exactly_one_call() {
    for at in [Crash::BeforeCreate, Crash::AfterCreate] {
        let stack = Stack::start(StackOptions::default()).await;
        stack.twilio.script(ALICE, vec![press_after("1", 300)]);
        let id = sys_id(FAULT_IDS + if at == Crash::BeforeCreate { 2 } else { 3 });
        let run = spawn_trigger(&stack, crashing_engine(&stack, at), &id, "INC0030003");
        assert!(run.await.unwrap_err().is_panic(), "the invocation died");

        let stuck = stack.escalation(&id).await.unwrap().escalation;
        assert_eq!(
            stuck.current().unwrap().phase,
            Phase::Dialing,
            "DIALING was written first"
        );
        let expected_before = usize::from(at == Crash::AfterCreate);
        assert_eq!(stack.twilio.executions().len(), expected_before);

        // Recovery: the sweeper's next run, once the dead invocation's lease has run out
        // (it had claimed the attempt before calling Twilio).
        let early = stack.sweep_ahead(1_000).await;
        assert_eq!(early.dialled, 0, "the dead invocation's lease still runs");
        let report = sweep_after_lease(&stack).await;
        assert_eq!(report.dialled, 1);
        stack.settle(&[&id], Duration::from_secs(30)).await;
        assert_eq!(dialled(&stack), [ALICE], "exactly one call after recovery");
        let esc = stack.escalation(&id).await.unwrap().escalation;
        assert_eq!(esc.status(), Status::Accepted);
        assert_eq!(esc.history().len(), 1);
    }
}

#[tokio::test]
async fn flow_events_killed_before_the_next_call_places_it_once_on_redelivery() {
    let stack = held_stack().await;
    stack.twilio.script(ALICE, vec![press("2")]);
    stack.twilio.script(BOB, vec![press("1")]);
    let id = sys_id(FAULT_IDS + 4);
    stack
        .trigger(&id, "INC0030004", "Crash in flow-events", "1")
        .await;
    let first = stack.twilio.executions()[0].sid.clone();
    let records = complete(&stack, &first).await;
    let batch = json!({ "Records": records });

    let flow_events = FlowEvents {
        engine: crashing_engine(&stack, Crash::BeforeCreate),
        ..stack.flow_events.clone()
    };
    let event = batch.clone();
    let run = tokio::spawn(async move {
        flow_events
            .handle(lambda_runtime::LambdaEvent::new(
                event,
                lambda_runtime::Context::default(),
            ))
            .await
    });
    assert!(run.await.unwrap_err().is_panic());
    let stuck = stack.escalation(&id).await.unwrap().escalation;
    assert_eq!(stuck.current().unwrap().person.name, "Bob Agent");
    assert_eq!(stuck.current().unwrap().phase, Phase::Dialing);
    assert_eq!(dialled(&stack), [ALICE]);

    // Kinesis redelivers the batch once the failed invocation is over: the event is now
    // stale. The dead invocation had claimed Bob's call before calling Twilio, and from
    // outside it cannot be told from a slow one, so nobody dials under its lease...
    tokio::time::sleep(Duration::from_millis(REDRIVE_AFTER_MS + 100)).await;
    let resp = stack.invoke_flow_events(batch.clone()).await;
    assert_eq!(resp["batchItemFailures"], json!([]));
    assert_eq!(dialled(&stack), [ALICE], "not under a running lease");
    // ...and once it has run out, the sweeper places the call, once.
    let report = sweep_after_lease(&stack).await;
    assert_eq!(report.dialled, 1);
    let resp = stack.invoke_flow_events(batch).await;
    assert_eq!(resp["batchItemFailures"], json!([]));
    assert_eq!(dialled(&stack), [ALICE, BOB], "Bob called exactly once");
}

/// The window 409 adoption cannot close: the invocation dies after Twilio created the call,
/// the call is over before anyone looks again, and its flow-end event is late. The next
/// dialer finds the call among the flow's executions and adopts it instead of calling again.
#[tokio::test]
async fn a_call_placed_by_a_dead_invocation_and_already_over_is_adopted_not_repeated() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.twilio.script(ALICE, vec![press("1")]);
    let id = sys_id(FAULT_IDS + 10);
    let run = spawn_trigger(
        &stack,
        crashing_engine(&stack, Crash::AfterCreate),
        &id,
        "INC0030010",
    );
    assert!(run.await.unwrap_err().is_panic(), "the invocation died");
    // Alice answered and pressed 1; the call is over at Twilio. Its event is not delivered yet.
    calls_over(&stack).await;
    assert_eq!(
        phase(&stack, &id).await,
        Phase::Dialing,
        "the SID was never recorded"
    );

    let report = sweep_after_lease(&stack).await;
    assert_eq!(report.dialled, 1);
    assert_eq!(dialled(&stack), [ALICE], "adopted, not called again");
    let esc = stack.escalation(&id).await.unwrap().escalation;
    let first = stack.twilio.executions()[0].sid.clone();
    assert_eq!(
        esc.current()
            .unwrap()
            .execution_sid
            .as_ref()
            .map(ExecutionSid::as_str),
        Some(first.as_str())
    );
    // The late event arrives and finishes the escalation as usual.
    stack.settle(&[&id], Duration::from_secs(30)).await;
    let esc = stack.escalation(&id).await.unwrap().escalation;
    assert_eq!(esc.status(), Status::Accepted);
    assert_eq!(dialled(&stack), [ALICE]);
}

/// The storm's duplicate: a trigger waits so long for a create slot that the sweeper finds
/// its attempt past the grace period and places the call; the call is answered and over
/// before the trigger's turn comes. The trigger must not call a second time.
#[tokio::test]
async fn a_trigger_held_up_by_the_rate_limit_does_not_call_after_the_sweeper_did() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.twilio.script(ALICE, vec![press("1")]);
    let id = sys_id(FAULT_IDS + 9);
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let waiting = Arc::new(tokio::sync::Notify::new());
    let engine = engine_with(&stack, |inner| TestDialer {
        inner,
        crash: None,
        gate: Some((gate.clone(), waiting.clone())),
    });
    let run = spawn_trigger(&stack, engine, &id, "INC0030009");
    waiting.notified().await;
    assert_eq!(phase(&stack, &id).await, Phase::Dialing);

    // The grace period passes while the trigger waits: the sweeper places the call, and
    // Alice answers and accepts.
    let report = stack.sweep_ahead(31_000).await;
    assert_eq!(report.dialled, 1);
    stack.settle(&[&id], Duration::from_secs(30)).await;
    assert_eq!(
        stack.escalation(&id).await.unwrap().escalation.status(),
        Status::Accepted
    );

    // Now the trigger gets its slot.
    gate.add_permits(1);
    let resp = run.await.unwrap().expect("the trigger answers");
    assert!(resp.status().is_success(), "{:?}", resp.status());
    assert_eq!(dialled(&stack), [ALICE], "exactly one call");
}

#[tokio::test]
async fn a_flow_end_event_that_never_arrives_is_finished_by_the_sweeper() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.twilio.script(ALICE, vec![press("2")]);
    stack.twilio.script(BOB, vec![press("1")]);
    let id = sys_id(FAULT_IDS + 5);
    stack.trigger(&id, "INC0030005", "Lost events", "1").await;
    // The call ends at Twilio, but Event Streams never delivers: nobody pumps Kinesis.
    calls_over(&stack).await;
    let early = stack.sweep_ahead(0).await;
    assert_eq!(
        (early.redriven, early.dialled),
        (0, 0),
        "nothing is due yet"
    );

    // Ring timeout (30 s) + grace (30 s) later, the sweeper finishes the attempt.
    let report = stack.sweep_ahead(61_000).await;
    assert_eq!(report.redriven, 1, "{report:?}");
    assert_eq!(dialled(&stack), [ALICE, BOB], "and moved on to Bob");
    while stack
        .twilio
        .executions()
        .iter()
        .any(|e| e.status == "active")
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let report = stack.sweep_ahead(122_000).await;
    assert_eq!(report.redriven, 1);
    while stack.pump_sqs().await.is_some() {}
    let esc = stack.escalation(&id).await.unwrap().escalation;
    assert_eq!(esc.status(), Status::Accepted);
    assert_eq!(stack.sn.work_notes(&id).len(), 3);

    // The late events finally arrive: all ignored, nothing happens twice.
    stack.settle(&[&id], Duration::from_secs(10)).await;
    assert_eq!(dialled(&stack), [ALICE, BOB]);
    assert_eq!(stack.sn.work_notes(&id).len(), 3);
}

#[tokio::test]
async fn a_call_that_overruns_is_ended_and_the_walk_goes_on() {
    let stack = held_stack().await;
    stack.twilio.script(BOB, vec![press("1")]);
    let id = sys_id(FAULT_IDS + 6);
    stack.trigger(&id, "INC0030006", "Stuck call", "1").await;
    let first = stack.twilio.executions()[0].sid.clone();
    // Still active after ring timeout + grace: left alone.
    let r = stack.sweep_ahead(70_000).await;
    assert_eq!(r.still_active, 1);
    // Five minutes later still active: ended at Twilio and treated as a failed call.
    let r = stack.sweep_ahead(60_000 + 6 * 60_000).await;
    assert_eq!(r.ended, 1, "{r:?}");
    let ended = stack
        .twilio
        .executions()
        .into_iter()
        .find(|e| e.sid == first)
        .unwrap();
    assert_eq!(ended.status, "ended");
    assert_eq!(
        dialled(&stack).len(),
        2,
        "the walk went on (a redial of Alice)"
    );
}

#[tokio::test]
async fn the_sweeper_entry_point_places_a_call_stuck_in_dialing() {
    let stack = Stack::start(StackOptions {
        env: vec![("SWEEP_GRACE_SECS", "0".into())],
        ..Default::default()
    })
    .await;
    stack.twilio.script(ALICE, vec![press("1")]);
    stack
        .twilio
        .inject(fault("POST", Some("/Executions"), 503, 50, None));
    let id = sys_id(FAULT_IDS + 7);
    let (status, _) = stack.trigger(&id, "INC0030007", "Twilio outage", "1").await;
    assert_eq!(status, 202, "the trigger answers; the dialer's try failed");
    assert!(dialled(&stack).is_empty());
    stack.twilio.clear_faults();
    let report = stack.invoke_sweeper().await;
    assert_eq!(report["dialled"], 1, "{report}");
    stack.settle(&[&id], Duration::from_secs(30)).await;
    assert_eq!(dialled(&stack), [ALICE]);
    let again = stack.invoke_sweeper().await;
    assert_eq!(again["checked"], 0, "nothing ACTIVE is left: {again}");
}

/// A damaged item in the table (say, written by hand) is skipped by the real sweeper, and
/// the stuck call of another incident is still placed.
#[tokio::test]
async fn one_unreadable_escalation_does_not_stop_the_sweeper() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let stack = Stack::start(StackOptions {
        env: vec![("SWEEP_GRACE_SECS", "0".into())],
        ..Default::default()
    })
    .await;
    let s = |v: &str| AttributeValue::S(v.to_string());
    aws_sdk_dynamodb::Client::new(&stack.sdk)
        .put_item()
        .table_name(&stack.resources.table)
        .item("pk", s("esc#00000000000000000000000000000bad"))
        .item("version", AttributeValue::N("3".into()))
        .item("doc", s("{not an escalation"))
        .item("active", s("ACTIVE"))
        .item("updated_at", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    stack.twilio.script(ALICE, vec![press("1")]);
    stack
        .twilio
        .inject(fault("POST", Some("/Executions"), 503, 50, None));
    let id = sys_id(FAULT_IDS + 8);
    let (status, _) = stack.trigger(&id, "INC0030008", "Twilio outage", "1").await;
    assert_eq!(status, 202, "the trigger answers; the dialer's try failed");
    stack.twilio.clear_faults();
    let report = stack.invoke_sweeper().await;
    assert_eq!(
        (report["unreadable"].as_u64(), report["dialled"].as_u64()),
        (Some(1), Some(1)),
        "{report}"
    );
    stack.settle(&[&id], Duration::from_secs(30)).await;
    assert_eq!(dialled(&stack), [ALICE]);
}
