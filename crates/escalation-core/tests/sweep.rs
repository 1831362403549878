//! The sweeper: what the event path left behind is finished (a call never placed, a call
//! whose end event never came, a call that overran or that the telephony side forgot),
//! and nothing is done twice with the event path.

mod support;

use escalation_core::escalation::Status;
use escalation_core::model::CallOutcome;
use escalation_core::ports::TelephonyErrorKind;
use escalation_core::testing::PlaceScript;
use escalation_core::usecase::{Settings, SweepReport};
use support::*;

#[tokio::test]
async fn a_first_call_never_placed_is_placed_by_the_sweeper_after_the_grace_period() {
    let s = Scenario::new();
    s.script(
        ALICE,
        [
            PlaceScript::Fails(TelephonyErrorKind::Unavailable),
            press("1"),
        ],
    );
    assert!(s.engine.start(incident(1)).await.is_err());

    let early = s.sweep_at(secs(10)).await;
    assert_eq!(
        (early.checked, early.dialled),
        (1, 0),
        "within the grace period"
    );
    assert!(s.dialled().is_empty());
    let report = s.sweep_at(secs(31)).await;
    assert_eq!(report.dialled, 1, "{report:?}");
    s.settle().await;
    assert_eq!(s.dialled(), [ALICE]);
    assert_eq!(s.esc(1).status(), Status::Accepted);
    assert_eq!(
        s.sweep_at(secs(40)).await.checked,
        0,
        "nothing active is left"
    );
}

#[tokio::test]
async fn the_sweeper_leaves_a_call_alone_while_a_dialer_holds_it_even_past_the_grace_period() {
    let s = Scenario::with(
        ROSTER,
        Settings {
            sweep_grace_secs: 0,
            ..Settings::default()
        },
    );
    s.script(ALICE, [PlaceScript::DiesBeforePlacing, press("1")]);
    let engine = s.engine.clone();
    let run = tokio::spawn(async move { engine.start(incident(8)).await });
    assert!(run.await.unwrap_err().is_panic());

    let early = s.sweep_at(secs(10)).await;
    assert_eq!((early.checked, early.dialled), (1, 0), "{early:?}");
    assert_eq!(s.sweep_at(secs(31)).await.dialled, 1);
    assert_eq!(s.dialled(), [ALICE]);
}

#[tokio::test]
async fn a_call_whose_end_event_never_arrives_is_finished_by_the_sweeper() {
    let s = Scenario::new();
    s.script(ALICE, [press("2")]);
    s.script(BOB, [press("1")]);
    s.start(2).await;
    // The call is over, but its event is never delivered.
    let early = s.sweep_at(0).await;
    assert_eq!(
        (early.redriven, early.dialled),
        (0, 0),
        "nothing is due yet"
    );

    // Ring timeout (30 s) + grace (30 s) later, the sweeper finishes it from the
    // telephony side and moves on.
    let report = s.sweep_at(secs(61)).await;
    assert_eq!(report.redriven, 1, "{report:?}");
    assert_eq!(s.dialled(), [ALICE, BOB]);
    let report = s.sweep_at(secs(122)).await;
    assert_eq!(report.redriven, 1, "{report:?}");
    assert_eq!(s.esc(2).accepted_by(), Some("Bob Agent"));

    // The late events finally arrive: ignored, nothing happens twice.
    s.settle().await;
    assert_eq!(s.dialled(), [ALICE, BOB]);
    assert_eq!(s.queued_for(2), ["started", "attempt:1", "attempt:2"]);
    assert_eq!(s.write_notes(2).await.len(), 3);
}

#[tokio::test]
async fn a_call_still_ringing_within_its_allowance_is_left_alone() {
    let s = Scenario::new();
    s.script(ALICE, [PlaceScript::Rings(CallOutcome::NoAnswer)]);
    s.start(3).await;
    let report = s.sweep_at(secs(70)).await;
    assert_eq!(
        report,
        SweepReport {
            checked: 1,
            still_active: 1,
            ..SweepReport::default()
        }
    );
    assert!(s.m.dialer.ended_by_engine().is_empty());
    assert_eq!(s.esc(3).history().len(), 0);
    assert_eq!(s.dialled(), [ALICE]);
}

#[tokio::test]
async fn a_call_that_overruns_is_ended_and_the_walk_goes_on() {
    let s = Scenario::new();
    s.script(ALICE, [PlaceScript::Rings(CallOutcome::NoAnswer)]);
    s.start(4).await;
    // Five minutes past ring timeout + grace, still active: ended and finished.
    let report = s.sweep_at(secs(60 + 6 * 60)).await;
    assert_eq!(report.ended, 1, "{report:?}");
    assert_eq!(s.m.dialer.ended_by_engine(), [s.call(0)]);
    assert_eq!(s.esc(4).history()[0].outcome, CallOutcome::NoAnswer);
    assert_eq!(
        s.dialled(),
        [ALICE, ALICE],
        "the walk went on (a redial of Alice)"
    );
}

#[tokio::test]
async fn a_call_the_telephony_side_no_longer_knows_counts_as_failed_and_the_walk_goes_on() {
    let s = Scenario::with_policy(|p| p.max_redials = 0);
    s.script(ALICE, [PlaceScript::Rings(CallOutcome::Accepted)]);
    s.start(5).await;
    s.m.dialer.forget(&s.call(0));

    let report = s.sweep_at(secs(61)).await;
    assert_eq!(report.redriven, 1, "{report:?}");
    assert_eq!(s.esc(5).history()[0].outcome, CallOutcome::Failed);
    assert_eq!(s.dialled(), [ALICE, BOB]);
    let notes = s.write_notes(5).await;
    assert!(notes[1].contains("call failed") && notes[1].contains("Next: agent Bob Agent"));
}

#[tokio::test]
async fn an_escalation_the_sweeper_cannot_finish_is_counted_and_retried_while_the_rest_go_on() {
    let s = Scenario::new();
    s.script(ALICE, [press("2"), press("2")]);
    s.start(6).await;
    s.start(7).await;
    s.m.dialer.fail_reports(1);

    let report = s.sweep_at(secs(61)).await;
    assert_eq!((report.checked, report.errors), (2, 1), "{report:?}");
    assert_eq!(s.dialled().len(), 3, "the other escalation moved on");
    let report = s.sweep_at(secs(62)).await;
    assert_eq!(report.errors, 0, "{report:?}");
    assert_eq!(s.dialled_for(6), [ALICE, BOB]);
    assert_eq!(s.dialled_for(7), [ALICE, BOB]);
}

#[tokio::test]
async fn a_forgotten_call_is_finished_on_the_latest_state_when_another_writer_saved_first() {
    let s = Scenario::with_policy(|p| p.max_redials = 0);
    s.script(ALICE, [PlaceScript::Rings(CallOutcome::NoAnswer)]);
    s.start(9).await;
    s.m.dialer.forget(&s.call(0));
    s.m.repo.conflict_saves(1);

    let report = s.sweep_at(secs(61)).await;
    assert_eq!((report.redriven, report.errors), (1, 0), "{report:?}");
    assert_eq!(s.dialled(), [ALICE, BOB]);
    assert_eq!(s.esc(9).history().len(), 1, "applied once");
}

#[tokio::test]
async fn one_unreadable_escalation_does_not_stop_the_sweeper() {
    let s = Scenario::new();
    s.script(
        ALICE,
        [
            PlaceScript::Fails(TelephonyErrorKind::Unavailable),
            press("1"),
        ],
    );
    assert!(s.engine.start(incident(1)).await.is_err());
    s.m.repo
        .put_unreadable("esc#00000000000000000000000000000bad", "doc is not JSON");
    let report = s.sweep_at(secs(31)).await;
    assert_eq!(
        (report.unreadable, report.dialled),
        (1, 1),
        "the damaged one is skipped and counted, the stuck call is placed: {report:?}"
    );
    assert_eq!(
        s.m.metrics
            .total(escalation_core::ports::Metric::UnreadableEscalations),
        1.0
    );
    s.settle().await;
    assert_eq!(s.esc(1).status(), Status::Accepted);
}
