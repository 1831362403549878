//! A person who passes (2) may say why (1 driving, 2 no laptop, 3 not my area): the reason
//! is in the pass's work note and counted under its label; the next person is called either
//! way, and a pass without a reason reads as before.

mod support;

use escalation_core::escalation::Status;
use escalation_core::model::{CallOutcome, DeclineReason};
use escalation_core::ports::Metric;
use support::*;

#[tokio::test]
async fn the_reason_of_a_pass_reaches_the_note_and_the_metric_and_the_walk_goes_on() {
    let s = Scenario::new();
    s.script(ALICE, [ends(CallOutcome::Declined(DeclineReason::Driving))]);
    s.script(BOB, [press("1")]);
    s.start(1).await;
    s.settle().await;

    assert_eq!(
        s.dialled(),
        [ALICE, BOB],
        "a decline passes to the next person"
    );
    assert_eq!(s.esc(1).status(), Status::Accepted);
    let notes = s.write_notes(1).await;
    let pass = notes
        .iter()
        .find(|n| n.contains(":attempt:1)"))
        .expect("a note for Alice's call");
    assert!(
        pass.contains("pressed 2 (pass to the next agent), reason: driving (pressed 1)"),
        "{pass}"
    );
    assert_eq!(s.metric(Metric::Declines), 1.0);
    let declines: Vec<_> =
        s.m.metrics
            .all()
            .into_iter()
            .filter(|(_, m, _)| *m == Metric::Declines)
            .map(|(dimension, _, _)| dimension)
            .collect();
    assert_eq!(declines, ["driving"]);
}

#[tokio::test]
async fn a_pass_without_a_reason_is_not_counted_as_a_decline() {
    let s = Scenario::new();
    s.script(ALICE, [press("2")]);
    s.script(BOB, [press("1")]);
    s.start(1).await;
    s.settle().await;

    let notes = s.write_notes(1).await;
    assert!(
        notes
            .iter()
            .any(|n| n.contains("pressed 2 (pass to the next agent)") && !n.contains("reason:")),
        "{notes:#?}"
    );
    assert_eq!(s.metric(Metric::Declines), 0.0);
}
