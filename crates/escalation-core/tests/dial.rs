//! Dial: each attempt's call is placed exactly once, even when a dialer is killed around
//! the call, two dialers race for it, or the answer to the request is lost.

mod support;

use escalation_core::escalation::{DIAL_LEASE_MS, Escalation, Phase, Status};
use escalation_core::model::CallOutcome;
use escalation_core::ports::{Metric, TelephonyErrorKind};
use escalation_core::testing::{PlaceScript, T0};
use escalation_core::usecase::{EngineError, EventOutcome};
use support::*;

/// A trigger for incident `n` whose invocation is killed on its way (a panic in the
/// telephony adapter, as a Lambda killed mid-call).
async fn killed_start(s: &Scenario, n: u32) {
    let engine = s.engine.clone();
    let run = tokio::spawn(async move { engine.start(incident(n)).await });
    assert!(run.await.unwrap_err().is_panic(), "the invocation died");
}

/// The sweeper's run once a dead dialer's lease (taken at T0) has run out.
async fn sweep_after_the_lease(s: &Scenario) -> escalation_core::usecase::SweepReport {
    s.sweep_at(DIAL_LEASE_MS + secs(1)).await
}

#[tokio::test]
async fn a_dialer_killed_before_placing_holds_the_call_until_its_lease_runs_out_then_it_is_placed_once()
 {
    let s = Scenario::new();
    s.script(ALICE, [PlaceScript::DiesBeforePlacing, press("1")]);
    killed_start(&s, 1).await;
    let stuck = s.esc(1).current().unwrap().clone();
    assert_eq!(stuck.phase, Phase::Dialing, "DIALING was written first");
    assert_eq!(stuck.dial_lease_until, Some(T0 + DIAL_LEASE_MS));
    assert!(s.dialled().is_empty());

    // From outside, a dead dialer cannot be told from a slow one: nobody dials under its
    // lease, neither the repeated trigger nor the sweeper.
    s.m.clock.advance(secs(1));
    s.start(1).await;
    let early = s.sweep_at(secs(1)).await;
    assert_eq!(early.dialled, 0);
    assert!(s.dialled().is_empty(), "not under a running lease");
    assert_eq!(
        s.m.dialer.reserved(),
        1,
        "nor does it take a call slot from others"
    );

    assert_eq!(sweep_after_the_lease(&s).await.dialled, 1);
    s.settle().await;
    assert_eq!(s.dialled(), [ALICE], "exactly one call after recovery");
    assert_eq!(s.esc(1).status(), Status::Accepted);
    assert_eq!(s.esc(1).history().len(), 1);
}

#[tokio::test]
async fn a_call_placed_by_a_killed_dialer_is_adopted_by_the_sweeper_not_placed_again() {
    // The call still rings when the sweeper looks, or is already over (answered, its
    // event late): either way it is found among the placed calls and adopted.
    for over_before_the_sweep in [false, true] {
        let s = Scenario::new();
        s.script(
            ALICE,
            [PlaceScript::DiesAfterPlacing(CallOutcome::Accepted)],
        );
        killed_start(&s, 2).await;
        assert_eq!(s.dialled(), [ALICE]);
        assert_eq!(
            s.esc(2).current().unwrap().phase,
            Phase::Dialing,
            "SID never recorded"
        );
        if over_before_the_sweep {
            s.m.dialer.finish(&s.call(0));
        }

        assert_eq!(sweep_after_the_lease(&s).await.dialled, 1);
        assert_eq!(s.dialled(), [ALICE], "adopted, not called again");
        let adopted = s.esc(2).current().unwrap().clone();
        assert_eq!(adopted.phase, Phase::Calling);
        assert_eq!(adopted.execution_sid, Some(s.call(0)));

        s.m.dialer.finish(&s.call(0));
        s.settle().await;
        assert_eq!(s.esc(2).status(), Status::Accepted);
        assert_eq!(s.dialled(), [ALICE]);
    }
}

#[tokio::test]
async fn the_end_of_a_call_a_killed_dialer_placed_is_applied_when_its_event_comes_first() {
    let s = Scenario::new();
    s.script(ALICE, [PlaceScript::DiesAfterPlacing(CallOutcome::Passed)]);
    s.script(BOB, [press("1")]);
    killed_start(&s, 3).await;
    s.m.dialer.finish(&s.call(0));

    s.deliver(&s.call(0)).await;
    let esc = s.esc(3);
    assert_eq!(
        esc.history()[0].execution_sid.as_deref(),
        Some(s.call(0).as_str())
    );
    assert_eq!(s.dialled(), [ALICE, BOB], "the walk went on at once");
    s.settle().await;
    assert_eq!(sweep_after_the_lease(&s).await.dialled, 0);
    assert_eq!(s.dialled(), [ALICE, BOB], "Alice called once");
    assert_eq!(s.esc(3).accepted_by(), Some("Bob Agent"));
}

#[tokio::test]
async fn a_next_call_whose_dialer_was_killed_is_placed_once_by_the_sweeper_not_by_the_redelivery() {
    let s = Scenario::new();
    s.script(ALICE, [press("2")]);
    s.script(BOB, [PlaceScript::DiesBeforePlacing, press("1")]);
    s.start(4).await;
    let (engine, e1) = (s.engine.clone(), s.call(0));
    let run = tokio::spawn(async move { engine.on_flow_ended(&event_id(&e1), e1.as_str()).await });
    assert!(run.await.unwrap_err().is_panic());
    assert_eq!(s.calling(4), "Bob Agent");
    assert_eq!(s.esc(4).current().unwrap().phase, Phase::Dialing);

    // The stream redelivers the event once the failed invocation is over: it is stale now,
    // and Bob's call is under the dead dialer's lease.
    s.m.clock.advance(secs(3));
    s.deliver(&s.call(0)).await;
    assert_eq!(s.dialled(), [ALICE], "not under a running lease");
    assert_eq!(sweep_after_the_lease(&s).await.dialled, 1);
    assert_eq!(s.deliver(&s.call(0)).await, EventOutcome::Duplicate);
    assert_eq!(s.dialled(), [ALICE, BOB], "Bob called exactly once");
}

/// Run `dial` on a task of its own until its request is held at the telephony side.
async fn held_at_the_telephony_side<F>(s: &Scenario, dial: F) -> tokio::task::JoinHandle<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let run = tokio::spawn(dial);
    while s.m.dialer.held() == 0 {
        tokio::task::yield_now().await;
    }
    run
}

#[tokio::test]
async fn two_dialers_racing_for_one_attempt_place_one_call() {
    let s = Scenario::new();
    s.script(ALICE, [PlaceScript::Fails(TelephonyErrorKind::Unavailable)]);
    s.script(ALICE, [PlaceScript::Held(CallOutcome::Accepted)]);
    let _ = s.engine.start(incident(10)).await;
    let read = s.m.repo.get(&sys_id(10)).unwrap();

    // The first claims the attempt and waits for the answer to its request...
    let (engine, first_read) = (s.engine.clone(), read.clone());
    let first = held_at_the_telephony_side(&s, async move { engine.dial(first_read).await }).await;
    // ...while the second, working from the same read, finds the attempt claimed.
    s.engine.dial(read).await.unwrap();
    s.m.dialer.release();
    first.await.unwrap().unwrap();

    assert_eq!(s.dialled(), [ALICE]);
    assert_eq!(s.m.dialer.requests(), 2, "the failed request and one call");
    assert_eq!(s.esc(10).current().unwrap().execution_sid, Some(s.call(0)));
}

#[tokio::test]
async fn a_dialer_working_from_an_old_read_does_not_call_under_a_dead_dialers_claim() {
    let s = Scenario::new();
    s.script(ALICE, [PlaceScript::Fails(TelephonyErrorKind::Unavailable)]);
    s.script(ALICE, [PlaceScript::DiesBeforePlacing, press("1")]);
    let _ = s.engine.start(incident(11)).await;
    let read = s.m.repo.get(&sys_id(11)).unwrap();
    let (engine, first_read) = (s.engine.clone(), read.clone());
    let run = tokio::spawn(async move { engine.dial(first_read).await });
    assert!(run.await.unwrap_err().is_panic());

    s.engine.dial(read).await.unwrap();
    assert!(s.dialled().is_empty(), "not under the dead dialer's lease");
    assert_eq!(sweep_after_the_lease(&s).await.dialled, 1);
    assert_eq!(s.dialled(), [ALICE]);
}

#[tokio::test]
async fn a_call_whose_end_was_applied_before_its_slow_dialer_recorded_it_leaves_the_next_call_alone()
 {
    let s = Scenario::new();
    s.script(ALICE, [PlaceScript::Held(CallOutcome::Passed)]);
    s.script(BOB, [PlaceScript::Rings(CallOutcome::Accepted)]);
    let engine = s.engine.clone();
    let trigger =
        held_at_the_telephony_side(&s, async move { engine.start(incident(12)).await }).await;
    // Alice's call is over and its event applied while the dialer still waits for the
    // answer to its request: the walk has moved on to Bob.
    s.m.dialer.finish(&s.call(0));
    s.deliver(&s.call(0)).await;
    assert_eq!(s.dialled(), [ALICE, BOB]);

    s.m.dialer.release();
    trigger.await.unwrap().unwrap();
    let esc = s.esc(12);
    let bob = esc.current().unwrap();
    assert_eq!(bob.person.name, "Bob Agent");
    assert_eq!(
        bob.execution_sid,
        Some(s.call(1)),
        "Bob's call stays recorded"
    );
    assert_eq!(esc.history().len(), 1);
    assert_eq!(
        s.m.dialer.hung_up(),
        [s.call(0)],
        "the stray call is hung up, never Bob's"
    );
    s.m.dialer.finish(&s.call(1));
    s.settle().await;
    assert_eq!(s.esc(12).accepted_by(), Some("Bob Agent"));
}

#[tokio::test]
async fn a_slow_dialers_call_that_the_sweeper_adopted_keeps_ringing() {
    let s = Scenario::new();
    s.script(ALICE, [PlaceScript::Held(CallOutcome::Accepted)]);
    let engine = s.engine.clone();
    let trigger =
        held_at_the_telephony_side(&s, async move { engine.start(incident(13)).await }).await;
    assert_eq!(sweep_after_the_lease(&s).await.dialled, 1);
    assert_eq!(s.esc(13).current().unwrap().execution_sid, Some(s.call(0)));

    s.m.dialer.release();
    trigger.await.unwrap().unwrap();
    assert!(
        s.m.dialer.ended_by_engine().is_empty() && s.m.dialer.hung_up().is_empty(),
        "our call is not ended"
    );
    assert_eq!(s.dialled(), [ALICE]);
    s.m.dialer.finish(&s.call(0));
    s.settle().await;
    assert_eq!(s.esc(13).accepted_by(), Some("Alice Agent"));
}

#[tokio::test]
async fn a_dialer_that_read_the_attempt_before_another_placed_its_call_does_not_call_again() {
    let s = Scenario::new();
    s.script(ALICE, [PlaceScript::Fails(TelephonyErrorKind::Unavailable)]);
    let _ = s.engine.start(incident(5)).await;
    let read = s.m.repo.get(&sys_id(5)).unwrap();

    let (a, b) = tokio::join!(s.engine.dial(read.clone()), s.engine.dial(read));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(s.dialled(), [ALICE]);
    assert_eq!(
        a.escalation, b.escalation,
        "both end on the one stored state"
    );
    assert_eq!(s.esc(5).current().unwrap().execution_sid, Some(s.call(0)));
}

#[tokio::test]
async fn a_trigger_held_up_by_the_rate_limit_does_not_call_after_the_sweeper_did() {
    let s = Scenario::new();
    s.script(
        ALICE,
        [
            PlaceScript::Fails(TelephonyErrorKind::Unavailable),
            press("1"),
        ],
    );
    let _ = s.engine.start(incident(6)).await;
    // What a trigger read before it queued for a call slot...
    let read = s.m.repo.get(&sys_id(6)).unwrap();
    // ...while the grace period passed, the sweeper called, and Alice accepted.
    assert_eq!(s.sweep_at(secs(31)).await.dialled, 1);
    s.settle().await;
    assert_eq!(s.esc(6).status(), Status::Accepted);

    let after = s.engine.dial(read).await.unwrap();
    assert_eq!(after.escalation.status(), Status::Accepted);
    assert_eq!(s.dialled(), [ALICE], "exactly one call");
}

#[tokio::test]
async fn a_call_whose_answer_was_lost_is_found_and_adopted_by_the_next_try() {
    let s = Scenario::new();
    s.script(
        ALICE,
        [PlaceScript::PlacedAnswerLost(CallOutcome::Accepted)],
    );
    let lost = s.engine.start(incident(7)).await;
    assert!(matches!(lost, Err(EngineError::Telephony(_))), "{lost:?}");
    // The call may exist: the lease is kept until it runs out (a release would let the
    // next try call before the telephony side shows the call).
    assert_eq!(
        s.esc(7).current().unwrap().dial_lease_until,
        Some(T0 + DIAL_LEASE_MS)
    );

    s.m.clock.advance(DIAL_LEASE_MS);
    let (stored, _) = s.start(7).await;
    assert_eq!(s.dialled(), [ALICE], "adopted, not placed twice");
    assert_eq!(
        s.m.dialer.requests(),
        1,
        "found without asking for a second call"
    );
    assert_eq!(
        stored.escalation.current().unwrap().execution_sid,
        Some(s.call(0))
    );
    s.m.dialer.finish(&s.call(0));
    s.settle().await;
    assert_eq!(s.esc(7).accepted_by(), Some("Alice Agent"));
}

#[tokio::test]
async fn our_own_running_call_is_adopted_when_the_telephony_side_refuses_a_second_one() {
    let s = Scenario::new();
    s.script(
        ALICE,
        [PlaceScript::PlacedAnswerLost(CallOutcome::Accepted)],
    );
    let _ = s.engine.start(incident(8)).await;
    // The record as a release that had no dial leases left it: nothing says that an
    // earlier dialer may have placed the call, so nobody searches for it.
    let stored = s.m.repo.get(&sys_id(8)).unwrap();
    let mut record = stored.escalation.snapshot().clone();
    record.current.as_mut().unwrap().dial_claims = 0;
    record.current.as_mut().unwrap().dial_lease_until = None;
    s.m.repo.put(Escalation::restore(record), stored.version);

    let (stored, _) = s.start(8).await;
    assert_eq!(
        s.m.dialer.requests(),
        2,
        "asked for a second call, refused (409)"
    );
    assert_eq!(s.dialled(), [ALICE], "one call");
    assert_eq!(
        stored.escalation.current().unwrap().execution_sid,
        Some(s.call(0))
    );
    s.m.dialer.finish(&s.call(0));
    s.settle().await;
    assert_eq!(s.esc(8).accepted_by(), Some("Alice Agent"));
}

#[tokio::test]
async fn a_telephony_configuration_fault_fails_loudly_instead_of_skipping_people() {
    let s = Scenario::new();
    s.script(ALICE, [PlaceScript::Fails(TelephonyErrorKind::Rejected)]);
    let result = s.engine.start(incident(9)).await;
    assert!(
        matches!(&result, Err(EngineError::Telephony(e)) if e.kind == TelephonyErrorKind::Rejected),
        "{result:?}"
    );
    let esc = s.esc(9);
    assert!(esc.history().is_empty(), "nobody skipped");
    assert_eq!(s.calling(9), "Alice Agent");
    assert_eq!(s.metric(Metric::TwilioErrors), 1.0);
}
