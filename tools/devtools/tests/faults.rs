//! Fault injection: the system under duplicated and shuffled delivery, long ServiceNow
//! outages, Lambdas killed mid-flight, and flow-end events that never arrive. Every test
//! counts calls placed (duplicates must be 0) and notes written (lost must be 0).

use escalation_adapters::twilio::StudioDialer;
use escalation_core::escalation::{DIAL_LEASE_MS, Phase, REDRIVE_AFTER_MS, Status};
use escalation_core::model::ExecutionSid;
use escalation_core::ports::{
    CallReport, CallRequest, CallState, DialResult, Dialer, TelephonyError,
};
use escalation_core::usecase::{Engine, Ports, SweepReport};
use escalation_devtools::stack::{ALICE, BOB, CAROL, Stack, StackOptions, user_sys_id};
use escalation_fakes::fault::FaultRule;
use escalation_fakes::twilio::AgentStep;
use escalation_lambda::handlers::{FlowEvents, Trigger};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

fn sys_id(n: u32) -> String {
    format!("{:032x}", 0xfa00 + n)
}

fn press(d: &str) -> AgentStep {
    AgentStep::Press {
        digit: d.into(),
        after_ms: 0,
    }
}

fn dialled(stack: &Stack) -> Vec<String> {
    let mut ex = stack.twilio.executions();
    ex.sort_by_key(|e| e.created_at_ms);
    ex.into_iter().map(|e| e.to).collect()
}

fn now() -> u64 {
    escalation_adapters::clock::now_ms()
}

/// Drive the stack with every Kinesis batch tripled and shuffled until `id` is terminal.
async fn settle_chaotically(stack: &Stack, id: &str, seed: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut round = 0;
    loop {
        round += 1;
        let k = stack.pump_kinesis_chaos(3, seed + round).await.is_some();
        let s = stack.pump_sqs().await.is_some();
        if !k && !s {
            let done = stack
                .escalation(id)
                .await
                .is_some_and(|e| e.escalation.status().is_terminal());
            if done && stack.pump_sqs().await.is_none() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if std::time::Instant::now() > deadline {
            let esc = stack.escalation(id).await.map(|s| s.escalation);
            panic!(
                "did not settle: {esc:#?}\nexecutions: {:#?}",
                stack.twilio.executions()
            );
        }
    }
}

#[tokio::test]
async fn every_record_delivered_three_times_shuffled_gives_the_same_outcome() {
    for (seed, steps, expect_calls, expect_status) in [
        (
            7u64,
            vec![(ALICE, press("2")), (BOB, press("1"))],
            vec![ALICE, BOB],
            Status::Accepted,
        ),
        (
            11,
            vec![(ALICE, press("3")), (CAROL, press("1"))],
            vec![ALICE, CAROL],
            Status::Accepted,
        ),
        (
            13,
            vec![
                (ALICE, AgentStep::NoAnswer { after_ms: 0 }),
                (BOB, AgentStep::Busy { after_ms: 0 }),
                (CAROL, AgentStep::Machine { after_ms: 0 }),
            ],
            vec![ALICE, ALICE, BOB, BOB, CAROL, CAROL],
            Status::Exhausted,
        ),
    ] {
        let stack = Stack::start(StackOptions::default()).await;
        for (phone, step) in steps {
            stack.twilio.script(phone, vec![step]);
        }
        let id = sys_id(seed as u32);
        stack.trigger(&id, "INC0030001", "Chaos", "1").await;
        settle_chaotically(&stack, &id, seed).await;
        assert_eq!(
            dialled(&stack),
            expect_calls,
            "seed {seed}: 0 duplicate calls"
        );
        let esc = stack.escalation(&id).await.unwrap().escalation;
        assert_eq!(esc.status(), expect_status, "seed {seed}");
        let notes = stack.sn.work_notes(&id);
        assert_eq!(
            notes.len(),
            1 + expect_calls.len(),
            "seed {seed}: started + one note per call, none twice: {notes:#?}"
        );
    }
}

/// Move everything from the DLQ back to the queue (what an operator does with
/// `aws sqs start-message-move-task` once ServiceNow is back).
async fn redrive(stack: &Stack) -> usize {
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    let mut moved = 0;
    loop {
        let out = sqs
            .receive_message()
            .queue_url(&stack.resources.dlq_url)
            .max_number_of_messages(10)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        let msgs = out.messages.unwrap_or_default();
        if msgs.is_empty() {
            return moved;
        }
        for m in msgs {
            let attrs = m.attributes.clone().unwrap_or_default();
            let group = attrs
                .get(&aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId)
                .cloned()
                .unwrap_or_default();
            sqs.send_message()
                .queue_url(&stack.resources.queue_url)
                .message_body(m.body.clone().unwrap_or_default())
                .message_group_id(group)
                .message_deduplication_id(format!(
                    "redrive-{}",
                    m.message_id.clone().unwrap_or_default()
                ))
                .send()
                .await
                .unwrap();
            sqs.delete_message()
                .queue_url(&stack.resources.dlq_url)
                .receipt_handle(m.receipt_handle.unwrap_or_default())
                .send()
                .await
                .unwrap();
            moved += 1;
        }
    }
}

#[tokio::test]
async fn a_long_servicenow_outage_loses_no_update_and_does_not_stop_calls() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.twilio.script(ALICE, vec![press("2")]);
    stack.twilio.script(BOB, vec![press("1")]);
    // ServiceNow answers 500 and 429 to every write for a long stretch.
    stack.sn.inject(FaultRule {
        method: Some("PATCH".into()),
        status: 429,
        retry_after_secs: Some(1),
        times: 2,
        ..Default::default()
    });
    stack.sn.inject(FaultRule {
        method: Some("PATCH".into()),
        status: 500,
        times: 100_000,
        ..Default::default()
    });
    let id = sys_id(1);
    stack.trigger(&id, "INC0030002", "SN outage", "1").await;

    // Calls go on while ServiceNow is down.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        stack.pump_kinesis().await;
        stack.pump_sqs().await;
        let done = stack
            .escalation(&id)
            .await
            .is_some_and(|e| e.escalation.status() == Status::Accepted);
        let queued = escalation_devtools::esm::queue_depth(
            &aws_sdk_sqs::Client::new(&stack.sdk),
            &stack.resources.queue_url,
        )
        .await;
        if done && queued == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "did not drain to the DLQ"
        );
    }
    assert_eq!(
        dialled(&stack),
        [ALICE, BOB],
        "calls continued during the outage"
    );
    assert!(
        stack.sn.work_notes(&id).is_empty(),
        "nothing could be written"
    );
    let parked = escalation_devtools::esm::queue_depth(
        &aws_sdk_sqs::Client::new(&stack.sdk),
        &stack.resources.dlq_url,
    )
    .await;
    assert_eq!(
        parked, 3,
        "started + 2 attempts kept in the DLQ after max receives"
    );

    // ServiceNow is back; the operator redrives the DLQ.
    stack.sn.clear_faults();
    assert_eq!(redrive(&stack).await, 3);
    while stack.pump_sqs().await.is_some() {}
    let notes = stack.sn.work_notes(&id);
    assert_eq!(notes.len(), 3, "0 updates lost, none twice: {notes:#?}");
    assert!(notes[0].contains("Phone escalation started"));
    assert!(
        notes[1].contains("Attempt 1") && notes[2].contains("Attempt 2"),
        "in order"
    );
    let incident = stack.sn.incident(&id).unwrap();
    assert_eq!(incident["assigned_to"], user_sys_id("bob.agent"));
}

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
    async fn reserve(&self) {
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

/// Wait until no call is active at Twilio (the simulated agents have done their part).
async fn calls_over(stack: &Stack) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while stack
        .twilio
        .executions()
        .iter()
        .any(|e| e.status == "active")
    {
        assert!(std::time::Instant::now() < deadline, "a call never ended");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The sweeper's run once a dead invocation's dial lease has run out.
async fn sweep_after_lease(stack: &Stack) -> SweepReport {
    stack
        .engine
        .sweep(now() + DIAL_LEASE_MS + 1_000)
        .await
        .unwrap()
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
        stack.twilio.script(
            ALICE,
            vec![AgentStep::Press {
                digit: "1".into(),
                after_ms: 300,
            }],
        );
        let id = sys_id(if at == Crash::BeforeCreate { 2 } else { 3 });
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
        let early = stack.engine.sweep(now() + 1_000).await.unwrap();
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
    let stack = Stack::start(StackOptions {
        auto_end: false,
        ..Default::default()
    })
    .await;
    stack.twilio.script(ALICE, vec![press("2")]);
    stack.twilio.script(BOB, vec![press("1")]);
    let id = sys_id(4);
    stack
        .trigger(&id, "INC0030004", "Crash in flow-events", "1")
        .await;
    let first = stack.twilio.executions()[0].sid.clone();
    stack.twilio.complete(&first).await.unwrap();
    let records: Vec<Value> = stack
        .take_kinesis_records()
        .await
        .into_iter()
        .filter(|r| Stack::record_event(r)["type"] == "com.twilio.studio.flow.execution.ended")
        .collect();
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
    let id = sys_id(10);
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
    let id = sys_id(9);
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
    let report = stack.engine.sweep(now() + 31_000).await.unwrap();
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
    let id = sys_id(5);
    stack.trigger(&id, "INC0030005", "Lost events", "1").await;
    // The call ends at Twilio, but Event Streams never delivers: nobody pumps Kinesis.
    calls_over(&stack).await;
    let early = stack.engine.sweep(now()).await.unwrap();
    assert_eq!(
        (early.redriven, early.dialled),
        (0, 0),
        "nothing is due yet"
    );

    // Ring timeout (30 s) + grace (30 s) later, the sweeper finishes the attempt.
    let report = stack.engine.sweep(now() + 61_000).await.unwrap();
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
    let report = stack.engine.sweep(now() + 122_000).await.unwrap();
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
    let stack = Stack::start(StackOptions {
        auto_end: false,
        ..Default::default()
    })
    .await;
    stack.twilio.script(BOB, vec![press("1")]);
    let id = sys_id(6);
    stack.trigger(&id, "INC0030006", "Stuck call", "1").await;
    let first = stack.twilio.executions()[0].sid.clone();
    // Still active after ring timeout + grace: left alone.
    let r = stack.engine.sweep(now() + 70_000).await.unwrap();
    assert_eq!(r.still_active, 1);
    // Five minutes later still active: ended at Twilio and treated as a failed call.
    let r = stack
        .engine
        .sweep(now() + 60_000 + 6 * 60_000)
        .await
        .unwrap();
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
    stack.twilio.inject(FaultRule {
        method: Some("POST".into()),
        path_contains: Some("/Executions".into()),
        status: 503,
        times: 50,
        ..Default::default()
    });
    let id = sys_id(7);
    let (status, _) = stack.trigger(&id, "INC0030007", "Twilio outage", "1").await;
    assert_eq!(status, 503);
    stack.twilio.clear_faults();
    let report = stack.invoke_sweeper().await;
    assert_eq!(report["dialled"], 1, "{report}");
    stack.settle(&[&id], Duration::from_secs(30)).await;
    assert_eq!(dialled(&stack), [ALICE]);
    let again = stack.invoke_sweeper().await;
    assert_eq!(again["checked"], 0, "nothing ACTIVE is left: {again}");
}

#[tokio::test]
async fn an_agent_busy_on_another_escalation_is_skipped_then_retried() {
    let stack = Stack::start(StackOptions {
        auto_end: false,
        env: vec![("MAX_REDIALS", "0".into())],
        ..Default::default()
    })
    .await;
    stack.twilio.script(ALICE, vec![press("1")]);
    stack.twilio.script(BOB, vec![press("2")]);
    stack.twilio.script(CAROL, vec![press("2")]);
    // Incident 1 holds Alice on the phone.
    let one = sys_id(8);
    stack.trigger(&one, "INC0030008", "First", "1").await;
    // Incident 2 finds her busy (Studio 409 with a foreign execution): Bob is called.
    let two = sys_id(9);
    stack.trigger(&two, "INC0030009", "Second", "1").await;
    assert_eq!(dialled(&stack), [ALICE, BOB]);
    let esc = stack.escalation(&two).await.unwrap().escalation;
    assert_eq!(
        esc.history()[0].outcome,
        escalation_core::model::CallOutcome::OnAnotherCall
    );
    // Bob and Carol pass; Alice is still busy, so incident 2 waits for her.
    for who in [BOB, CAROL] {
        let sid = stack
            .twilio
            .executions()
            .into_iter()
            .find(|e| e.to == who && e.status == "active")
            .unwrap()
            .sid;
        stack.twilio.complete(&sid).await.unwrap();
        stack.pump_kinesis().await;
    }
    let esc = stack.escalation(&two).await.unwrap().escalation;
    assert_eq!(
        esc.status(),
        Status::Active,
        "not exhausted while Alice may free up"
    );
    let waiting = esc.current().unwrap();
    assert_eq!(waiting.person.name, "Alice Agent");
    assert!(waiting.not_before.is_some());
    // Alice accepts incident 1 and hangs up; after the wait the sweeper calls her for incident 2.
    let sid = stack.twilio.executions()[0].sid.clone();
    stack.twilio.complete(&sid).await.unwrap();
    stack.pump_kinesis().await;
    let report = stack.engine.sweep(now() + 31_000).await.unwrap();
    assert_eq!(report.dialled, 1, "{report:?}");
    let to_alice: Vec<_> = dialled(&stack).into_iter().filter(|n| n == ALICE).collect();
    assert_eq!(to_alice.len(), 2, "Alice: once per incident");
    while stack.pump_sqs().await.is_some() {}
    let notes = stack.sn.work_notes(&two);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("already on another escalation call")),
        "{notes:#?}"
    );
    assert!(
        notes.iter().any(|n| n.contains("busy retry 1 of 3")),
        "{notes:#?}"
    );
}
