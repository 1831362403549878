//! What the engine reports: one attempt per finished call, an accept with its time to
//! accept, an exhaustion, and telephony failures.

mod support;

use escalation_core::model::CallOutcome;
use escalation_core::ports::{Metric, TelephonyErrorKind};
use escalation_core::testing::PlaceScript;
use support::*;

#[tokio::test]
async fn an_accepted_escalation_reports_each_call_one_accept_and_the_time_to_accept() {
    let s = Scenario::new();
    s.script(ALICE, [ends(CallOutcome::NoAnswer), press("2")]);
    s.script(BOB, [press("1")]);
    s.start(1).await;
    for i in 0..3 {
        s.m.clock.advance(secs(15));
        s.deliver(&s.call(i)).await;
    }

    assert_eq!(s.dialled(), [ALICE, ALICE, BOB]);
    assert_eq!(s.metric(Metric::Attempts), 3.0);
    assert_eq!(s.metric(Metric::Accepts), 1.0);
    assert_eq!(
        s.metric(Metric::TimeToAccept),
        45_000.0,
        "start to accept, in ms"
    );
    assert_eq!(s.metric(Metric::Exhausted), 0.0);
    let dimensions = s.m.metrics.all().into_iter().map(|(d, ..)| d);
    assert!(
        dimensions.into_iter().all(|d| d == "INC0010001"),
        "per incident"
    );
}

#[tokio::test]
async fn an_exhausted_escalation_reports_its_calls_and_one_exhaustion() {
    let s = Scenario::new();
    s.start(2).await;
    s.settle().await;
    assert_eq!(s.metric(Metric::Attempts), 6.0);
    assert_eq!(s.metric(Metric::Exhausted), 1.0);
    assert_eq!(s.metric(Metric::Accepts), 0.0);
    assert_eq!(s.metric(Metric::TimeToAccept), 0.0);
}

#[tokio::test]
async fn a_call_that_could_not_be_placed_counts_as_an_attempt_and_a_duplicate_event_does_not() {
    let s = Scenario::new();
    s.script(ALICE, [PlaceScript::Unreachable("invalid".into())]);
    s.script(BOB, [press("1")]);
    s.start(3).await;
    assert_eq!(s.metric(Metric::Attempts), 1.0);
    s.deliver(&s.call(0)).await;
    s.deliver(&s.call(0)).await;
    assert_eq!(s.metric(Metric::Attempts), 2.0);
    assert_eq!(s.metric(Metric::Accepts), 1.0);
}

#[tokio::test]
async fn each_telephony_failure_is_counted_once() {
    let s = Scenario::new();
    s.script(
        ALICE,
        [
            PlaceScript::Fails(TelephonyErrorKind::Unavailable),
            press("2"),
        ],
    );
    assert!(s.engine.start(incident(4)).await.is_err());
    s.start(4).await;
    s.m.dialer.fail_reports(1);
    assert!(
        s.engine
            .on_flow_ended("EZ1", s.call(0).as_str())
            .await
            .is_err()
    );

    let failures: Vec<_> =
        s.m.metrics
            .all()
            .into_iter()
            .filter(|(_, m, _)| *m == Metric::TwilioErrors)
            .collect();
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(failures.iter().all(|(d, _, v)| d == "engine" && *v == 1.0));
    assert_eq!(s.metric(Metric::Attempts), 0.0, "no attempt finished");
}

#[tokio::test]
async fn every_call_that_could_not_be_placed_counts_a_dial_failure_for_its_incident() {
    let s = Scenario::new();
    s.script(
        ALICE,
        [
            PlaceScript::Fails(TelephonyErrorKind::Unavailable),
            PlaceScript::Fails(TelephonyErrorKind::Rejected),
        ],
    );
    assert!(s.engine.start(incident(1)).await.is_err());
    let failures: Vec<_> =
        s.m.metrics
            .all()
            .into_iter()
            .filter(|(_, m, _)| *m == Metric::DialFailures)
            .collect();
    assert_eq!(
        failures,
        [("INC0010001".to_string(), Metric::DialFailures, 1.0)]
    );
    // A configuration fault (credentials, the flow) is told apart in the sweep report, so
    // that the sweeper can fail loudly.
    let report = s.sweep_at(secs(31)).await;
    assert_eq!(
        (report.errors, report.configuration_errors),
        (1, 1),
        "{report:?}"
    );
    assert_eq!(s.m.metrics.total(Metric::DialFailures), 2.0);
}
