//! A start that hands its first call to the dial queue (the trigger's): the escalation is
//! stored and its plan noted before anyone is called, and the dialer places the call once,
//! however often it is asked.

mod support;

use escalation_core::escalation::{Phase, Status};
use escalation_core::usecase::{Engine, Settings};
use support::*;

fn queued(s: &Scenario) -> Engine {
    s.m.queued_engine(Settings::default())
}

#[tokio::test]
async fn a_queued_start_stores_and_notes_the_escalation_and_calls_nobody_yet() {
    let s = Scenario::new();
    let (stored, new) = queued(&s).start(incident(1)).await.expect("start");
    assert!(new);
    let first = stored.escalation.current().expect("attempt 1");
    assert_eq!((first.number, first.phase), (1, Phase::Dialing));
    assert!(s.dialled().is_empty(), "nobody is called by the start");
    assert_eq!(
        s.m.dialer.reserved(),
        0,
        "the start never waits for the rate"
    );
    assert_eq!(s.queued_for(1), ["started"]);
    let requests = s.m.dials.take();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        (
            &requests[0].sys_id,
            &requests[0].escalation_id,
            requests[0].attempt
        ),
        (&sys_id(1), stored.escalation.id(), 1)
    );
}

#[tokio::test]
async fn the_dialer_places_the_requested_call_once_however_often_it_is_asked() {
    let s = Scenario::new();
    s.script(ALICE, [press("1")]);
    queued(&s).start(incident(1)).await.expect("start");
    let req = s.m.dials.take().remove(0);
    for _ in 0..3 {
        s.engine.dial_requested(&req).await.expect("dial");
    }
    assert_eq!(s.dialled(), [ALICE], "one call");
    assert_eq!(s.esc(1).current().unwrap().phase, Phase::Calling);
    s.settle().await;
    assert_eq!(s.esc(1).status(), Status::Accepted);
    // A request that arrives after the escalation moved on places nothing.
    s.engine.dial_requested(&req).await.expect("late dial");
    assert_eq!(s.dialled(), [ALICE]);
}

#[tokio::test]
async fn a_repeated_trigger_asks_again_for_a_first_call_never_placed() {
    let s = Scenario::new();
    let engine = queued(&s);
    engine.start(incident(1)).await.expect("start");
    let lost = s.m.dials.take();
    assert_eq!(lost.len(), 1, "the first request (lost, say)");
    let (again, new) = engine.start(incident(1)).await.expect("start again");
    assert!(!new);
    let req = s.m.dials.take();
    assert_eq!(req, lost, "the same call is asked for again");
    s.engine.dial_requested(&req[0]).await.expect("dial");
    assert_eq!(s.dialled(), [ALICE]);
    // Once the call is placed, a repeated trigger asks for nothing.
    engine.start(incident(1)).await.expect("third start");
    assert!(s.m.dials.take().is_empty());
    assert_eq!(again.escalation.id(), s.esc(1).id());
}

#[tokio::test]
async fn a_request_for_an_unknown_incident_or_another_escalation_places_nothing() {
    let s = Scenario::new();
    queued(&s).start(incident(1)).await.expect("start");
    let mut req = s.m.dials.take().remove(0);
    req.sys_id = sys_id(2);
    assert!(s.engine.dial_requested(&req).await.expect("dial").is_none());
    req.sys_id = sys_id(1);
    req.attempt = 2;
    s.engine.dial_requested(&req).await.expect("dial");
    assert!(s.dialled().is_empty());
}

// The "started" note and the dial request are sent at the same time after the escalation is
// stored; each half can fail alone. Neither loses the note or the call.

#[tokio::test]
async fn a_note_refused_while_the_dial_request_went_out_is_queued_by_the_dialer_before_it_calls() {
    let s = Scenario::new();
    s.script(ALICE, [press("1")]);
    s.m.outbox.fail(1);
    assert!(queued(&s).start(incident(1)).await.is_err(), "answered 503");
    assert!(
        s.m.repo.get(&sys_id(1)).is_some(),
        "the escalation is durable"
    );
    assert!(s.queued_for(1).is_empty(), "the note was refused");
    // Nobody sends the trigger again; the request that did go out is dialled.
    let req = s.m.dials.take();
    assert_eq!(req.len(), 1);
    s.engine.dial_requested(&req[0]).await.expect("dial");
    assert_eq!(s.dialled(), [ALICE]);
    assert_eq!(s.queued_for(1), ["started"], "queued before the call rang");
    s.settle().await;
    assert_eq!(s.queued_for(1), ["started", "attempt:1"], "the note once");
}

#[tokio::test]
async fn a_dial_request_refused_after_the_write_is_placed_by_the_sweeper_once() {
    let s = Scenario::new();
    s.script(ALICE, [press("1")]);
    s.m.dials.fail(1);
    assert!(queued(&s).start(incident(1)).await.is_err(), "answered 503");
    assert!(
        s.m.repo.get(&sys_id(1)).is_some(),
        "the escalation is durable"
    );
    assert_eq!(s.queued_for(1), ["started"], "the note went out anyway");
    assert!(s.m.dials.take().is_empty());
    // Nobody sends the trigger again: the sweeper places the first call no request reached.
    let report = s.sweep_at(secs(31)).await;
    assert_eq!(report.dialled, 1, "{report:?}");
    s.settle().await;
    assert_eq!(s.dialled(), [ALICE]);
    assert_eq!(s.queued_for(1), ["started", "attempt:1"], "the note once");
    assert_eq!(s.esc(1).status(), Status::Accepted);
}
