//! The dial lease covers every create it guards: a lease is stamped with the time the
//! dialer actually takes it, no create starts too late for the lease to cover it, and a
//! lease is never given back after a create whose outcome is unknown.

mod support;

use escalation_core::escalation::{CREATE_BUDGET_MS, DIAL_LEASE_MS, Phase};
use escalation_core::model::CallOutcome;
use escalation_core::ports::Clock;
use escalation_core::testing::{DialOp, PlaceScript, T0};
use support::*;

#[tokio::test]
async fn the_sweeper_stamps_each_lease_with_the_time_it_reaches_the_escalation() {
    let s = Scenario::new();
    // Alice passed, but her flow-end event was lost: the sweeper finishes her call and
    // places Bob's. Reading how her call ended is slow (40 s: a slow Twilio), so the sweep
    // reaches Bob's call well after it began.
    s.script(ALICE, [press("2")]);
    s.script(BOB, [PlaceScript::Held(CallOutcome::Accepted)]);
    s.start(1).await;
    s.m.dialer.takes(&s.m.clock, DialOp::Report, secs(40));
    s.m.clock.set(T0 + secs(61));
    let engine = s.engine.clone();
    let sweep = tokio::spawn(async move { engine.sweep().await });
    while s.m.dialer.held() < 1 {
        assert!(!sweep.is_finished(), "the sweep never placed Bob's call");
        tokio::task::yield_now().await;
    }
    // Bob's create is in flight: its lease must run now, or a late event or another
    // sweep could claim the attempt and call Bob a second time.
    let now = s.m.clock.now_ms();
    let attempt = s.esc(1).current().unwrap().clone();
    assert_eq!(
        (attempt.person.name.as_str(), attempt.phase),
        ("Bob Agent", Phase::Dialing)
    );
    assert!(
        attempt.is_leased(now),
        "the lease of a create in flight ran out already (until {:?}, now {now})",
        attempt.dial_lease_until
    );
    s.m.dialer.release();
    sweep.await.unwrap().unwrap();
    assert_eq!(s.dialled(), [ALICE, BOB]);
}

#[tokio::test]
async fn a_create_never_starts_too_late_for_the_lease_to_cover_it() {
    let s = Scenario::new();
    // A dead dialer claimed Alice's call; the next dialer must look for the call it may
    // have placed, and that search is slow.
    s.script(ALICE, [PlaceScript::DiesBeforePlacing, press("1")]);
    let engine = s.engine.clone();
    let run = tokio::spawn(async move { engine.start(incident(1)).await });
    assert!(run.await.unwrap_err().is_panic());
    s.m.dialer.takes(
        &s.m.clock,
        DialOp::FindPlaced,
        DIAL_LEASE_MS - CREATE_BUDGET_MS + secs(5),
    );
    s.sweep_at(DIAL_LEASE_MS + secs(1)).await;
    assert!(
        s.dialled().is_empty(),
        "the search ate into the lease: a create now could outlive it, so none is started"
    );
    let attempt = s.esc(1).current().unwrap().clone();
    assert_eq!(attempt.phase, Phase::Dialing);
    assert!(
        !attempt.is_leased(s.m.clock.now_ms()),
        "no create was sent, so the lease is given back for the next try"
    );
    // The next sweep, with a quick search, places the call once.
    s.m.dialer.takes(&s.m.clock, DialOp::FindPlaced, 0);
    let now = s.m.clock.now_ms() - T0;
    assert_eq!(s.sweep_at(now + secs(1)).await.dialled, 1);
    assert_eq!(s.dialled(), [ALICE]);
}

#[tokio::test]
async fn a_lease_is_kept_after_a_create_whose_outcome_is_unknown() {
    let s = Scenario::new();
    // Twilio may have created the call: the request timed out after it was sent.
    s.script(
        ALICE,
        [PlaceScript::PlacedAnswerLost(CallOutcome::Accepted)],
    );
    assert!(s.engine.start(incident(1)).await.is_err());
    let attempt = s.esc(1).current().unwrap().clone();
    assert!(
        attempt.is_leased(s.m.clock.now_ms()),
        "the lease stays until it runs out: a create Twilio carries out late must not meet a second one"
    );
    // Within the lease nobody dials; after it, the next dialer looks for the call first
    // and adopts it.
    s.m.clock.advance(secs(5));
    s.start(1).await;
    assert_eq!(s.m.dialer.requests(), 1, "no second create under the lease");
    s.sweep_at(DIAL_LEASE_MS + secs(1)).await;
    assert_eq!(s.dialled(), [ALICE], "adopted, never placed twice");
    assert_eq!(s.m.dialer.requests(), 1);
}
