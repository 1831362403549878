//! The canary through the real handlers on moto and the fakes: its synthetic escalation goes
//! to the dial queue, the dialer places the Studio call, the test number presses 1 (as its
//! answering TwiML does), flow-events records the acceptance, and the canary publishes
//! `CanaryFailed` 0; nobody pressing 1 or the bound passing publishes 1. Nothing about the
//! marker incident is queued for ServiceNow, and no request for it reaches the fake.

mod support;

use escalation_core::canary::is_canary;
use escalation_core::model::{E164, SysId};
use escalation_core::ports::Metric;
use escalation_core::testing::RecordingMetrics;
use escalation_devtools::stack::{ALICE, Stack, StackOptions};
use escalation_lambda::config::CanaryConfig;
use escalation_lambda::handlers::canary::{Canary, CanaryReport};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use support::{SETTLE, dialled, no_answer, patches, press, press_after, sys_id};

const TEST_NUMBER: &str = "+15550108888";

fn canary(stack: &Stack, timeout: Duration) -> (Canary, Arc<RecordingMetrics>) {
    let config = CanaryConfig {
        number: E164::parse(TEST_NUMBER).unwrap(),
        timeout_secs: 30,
    };
    let mut canary = stack
        .parts
        .canary(&stack.aws, &stack.resources.dial_queue_url, &config);
    let metrics = Arc::new(RecordingMetrics::default());
    canary.metrics = metrics.clone();
    canary.timeout = timeout;
    canary.poll = Duration::from_millis(50);
    (canary, metrics)
}

/// Runs the canary while the event sources are pumped, as Lambda's mappings would.
async fn run(stack: &Stack, canary: &Canary) -> CanaryReport {
    let done = AtomicBool::new(false);
    let (report, ()) = tokio::join!(
        async {
            let r = canary.run().await;
            done.store(true, Ordering::SeqCst);
            r
        },
        async {
            while !done.load(Ordering::SeqCst) {
                stack.drain_dials().await;
                stack.pump_kinesis().await;
                stack.pump_sqs().await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    );
    // Whatever was queued meanwhile reaches the updater.
    while stack.pump_sqs().await.is_some() {}
    report
}

fn assert_servicenow_untouched(stack: &Stack, report: &CanaryReport) {
    assert!(is_canary(&SysId::parse(&report.incident).unwrap()));
    let requests = stack.sn.requests();
    assert!(
        requests.iter().all(|r| !r.path.contains(&report.incident)),
        "nothing about the canary reaches ServiceNow: {:?}",
        requests
            .iter()
            .map(|r| (&r.method, &r.path))
            .collect::<Vec<_>>()
    );
    assert!(
        requests.iter().all(|r| r.method != "PATCH"),
        "no PATCH at all"
    );
}

#[tokio::test]
async fn an_accepted_canary_call_clears_the_metric_and_writes_nothing_to_servicenow() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.twilio.script(TEST_NUMBER, vec![press("1")]);
    let (canary, metrics) = canary(&stack, Duration::from_secs(20));

    let report = run(&stack, &canary).await;

    assert_eq!(report.outcome, "ACCEPTED", "{report:?}");
    assert!(!report.failed);
    assert_eq!(
        dialled(&stack),
        [TEST_NUMBER],
        "one call, to the test number"
    );
    let created = &stack.twilio.executions()[0];
    assert_eq!(created.parameters["incident_number"], "CANARY");
    assert_eq!(
        metrics.all(),
        [("CANARY".to_string(), Metric::CanaryFailed, 0.0)],
        "success publishes 0, which clears the alarm"
    );
    assert_servicenow_untouched(&stack, &report);

    // The same stack writes a real escalation's updates: the check above can fail.
    stack.twilio.script(ALICE, vec![press("1")]);
    let id = sys_id(0x17c);
    let (status, body) = stack.trigger(&id, "INC0017001", "Real incident", "1").await;
    assert_eq!(status, 202, "{body}");
    stack.settle(&[&id], SETTLE).await;
    assert!(!patches(&stack, &id).is_empty());
}

#[tokio::test]
async fn nobody_pressing_1_raises_the_metric() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.twilio.script(TEST_NUMBER, vec![no_answer()]);
    let (canary, metrics) = canary(&stack, Duration::from_secs(20));

    let report = run(&stack, &canary).await;

    assert!(report.failed, "{report:?}");
    assert_eq!(report.outcome, "EXHAUSTED");
    assert_eq!(
        dialled(&stack),
        [TEST_NUMBER],
        "no redial: the canary calls once"
    );
    assert_eq!(metrics.total(Metric::CanaryFailed), 1.0);
    assert_eq!(metrics.all().len(), 1, "{:?}", metrics.all());
    assert_servicenow_untouched(&stack, &report);
}

#[tokio::test]
async fn a_call_not_accepted_within_the_bound_raises_the_metric_and_is_ended() {
    let stack = Stack::start(StackOptions::default()).await;
    stack
        .twilio
        .script(TEST_NUMBER, vec![press_after("1", 20_000)]);
    let (canary, metrics) = canary(&stack, Duration::from_millis(1_500));

    let report = run(&stack, &canary).await;

    assert!(report.failed, "{report:?}");
    assert_eq!(report.outcome, "TIMED_OUT");
    assert_eq!(metrics.total(Metric::CanaryFailed), 1.0);
    let stored = stack.escalation(&report.incident).await.unwrap();
    assert!(
        stored.escalation.status().is_terminal(),
        "the late call is ended, not left ringing: {:?}",
        stored.escalation.status()
    );
    assert!(
        stack
            .twilio
            .executions()
            .iter()
            .all(|e| e.status != "active"),
        "{:?}",
        stack.twilio.executions()
    );
    assert_servicenow_untouched(&stack, &report);
}

#[test]
fn the_canary_configuration_names_what_is_wrong() {
    let env = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let e = CanaryConfig::from_map(&env(&[])).unwrap_err().to_string();
    assert!(e.contains("CANARY_NUMBER"), "{e}");
    let e = CanaryConfig::from_map(&env(&[("CANARY_NUMBER", "555-0100")]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("CANARY_NUMBER"), "{e}");
    let e = CanaryConfig::from_map(&env(&[
        ("CANARY_NUMBER", TEST_NUMBER),
        ("CANARY_TIMEOUT_SECS", "5"),
    ]))
    .unwrap_err()
    .to_string();
    assert!(e.contains("CANARY_TIMEOUT_SECS"), "{e}");
    let ok = CanaryConfig::from_map(&env(&[("CANARY_NUMBER", TEST_NUMBER)])).unwrap();
    assert_eq!(ok.timeout_secs, 180);
}

/// Defence in depth: a canary update that reached the queue anyway (none is queued) is
/// dropped by the updater, not written.
#[tokio::test]
async fn the_updater_drops_a_queued_canary_update() {
    use escalation_core::canary::canary_incident;
    use escalation_core::escalation::{Escalation, Policy};
    use escalation_core::model::{EscalationId, Roster};
    let stack = Stack::start(StackOptions::default()).await;
    let roster = Roster {
        agents: vec![escalation_core::model::Person {
            name: "Canary".into(),
            phone: E164::parse(TEST_NUMBER).unwrap(),
            role: None,
            sn_user: None,
            language: None,
            ring_timeout_secs: None,
            redials: None,
            escalation_step: false,
            sms_when_unanswered: false,
            ring_step: None,
        }],
        escalation: Vec::new(),
        source: None,
    };
    let incident = canary_incident(support::now());
    let (_, started) = Escalation::start(
        EscalationId::generate(),
        incident,
        roster,
        Policy::default(),
        support::now(),
    );
    let body = escalation_adapters::aws::sqs::encode(&started);
    let event = serde_json::json!({"Records": [{
        "messageId": "m-canary",
        "body": body,
        "attributes": {"MessageGroupId": started.sys_id.to_string(), "ApproximateReceiveCount": "1"},
    }]});
    let response = stack.invoke_updater(event).await;
    assert_eq!(
        response["batchItemFailures"]
            .as_array()
            .map(Vec::len)
            .unwrap_or(0),
        0,
        "{response}"
    );
    assert!(stack.sn.requests().is_empty(), "{:?}", stack.sn.requests());
}
