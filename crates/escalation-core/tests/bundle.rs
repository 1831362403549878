//! Bundling: incidents that wait for the same person within the window are one call; the
//! key pressed applies to each incident in its own escalation; a lone incident waits the
//! window and no more; nothing waiting in a bundle is lost when its opener dies.

mod support;

use escalation_core::escalation::{Cancel, CancelReason, Phase, Status};
use escalation_core::model::CallOutcome;
use escalation_core::ports::DialRequest;
use escalation_core::testing::{PlaceScript, T0};
use support::*;

const WINDOW: u32 = 15;

/// Incidents 1..=n start 2 s apart; returns the opener's delayed dial request.
async fn storm(s: &Scenario, n: u32) -> DialRequest {
    for i in 1..=n {
        s.start(i).await;
        s.m.clock.advance(secs(2));
    }
    let mut delayed = s.m.dials.take_delayed();
    assert_eq!(
        delayed.len(),
        1,
        "one request comes back, the opener's: {delayed:?}"
    );
    let (req, delay) = delayed.remove(0);
    assert_eq!(delay, WINDOW, "it comes back when the window ends");
    assert_eq!(req.sys_id, sys_id(1));
    req
}

/// The opener's request comes back at the window's end.
async fn window_ends(s: &Scenario, req: DialRequest) {
    s.m.clock.set(T0 + secs(u64::from(WINDOW)));
    s.dial([req]).await;
}

#[tokio::test]
async fn three_incidents_for_alice_are_one_call_and_accepting_assigns_each() {
    let s = Scenario::bundled(ROSTER, WINDOW);
    s.script(ALICE, [press("1")]);
    let req = storm(&s, 3).await;
    assert!(s.dialled().is_empty(), "nobody is called during the window");
    for n in 1..=3 {
        let a = s.esc(n).current().cloned().unwrap();
        assert_eq!(a.phase, Phase::Dialing, "incident {n} waits");
    }

    window_ends(&s, req).await;
    assert_eq!(s.dialled(), [ALICE], "one call about all three");
    let call = s.m.dialer.placed().remove(0).call;
    let others: Vec<_> = call
        .bundle
        .iter()
        .map(|b| b.incident.number.clone())
        .collect();
    assert_eq!(others, ["INC0010002", "INC0010003"]);

    s.settle().await;
    for n in 1..=3 {
        let esc = s.esc(n);
        assert_eq!(esc.status(), Status::Accepted, "incident {n}");
        assert_eq!(esc.accepted_by(), Some("Alice Agent"));
        let notes = s.write_notes(n).await;
        let call_note = notes.iter().find(|n| n.contains("Attempt 1")).unwrap();
        assert!(
            call_note.contains("One call about 3 incidents")
                && call_note.contains("INC0010001, INC0010002, INC0010003"),
            "incident {n}'s own note names the bundle: {call_note}"
        );
    }
    let assigned: Vec<_> =
        s.m.servicenow
            .patches()
            .into_iter()
            .filter(|p| p.patch.assigned_to == Some(user_sys_id("alice.agent")))
            .map(|p| p.sys_id)
            .collect();
    assert_eq!(
        assigned.len(),
        3,
        "every incident is assigned to Alice: {assigned:?}"
    );
}

#[tokio::test]
async fn passing_a_bundle_moves_each_escalation_on_and_the_next_person_gets_one_call_too() {
    let s = Scenario::bundled(ROSTER, WINDOW);
    s.script(ALICE, [press("2")]);
    s.script(BOB, [press("1")]);
    let req = storm(&s, 3).await;
    window_ends(&s, req).await;
    s.settle().await;

    assert_eq!(
        s.dialled(),
        [ALICE, BOB],
        "Bob too gets one call about all three"
    );
    for n in 1..=3 {
        let esc = s.esc(n);
        assert_eq!(esc.status(), Status::Accepted, "incident {n}");
        assert_eq!(esc.accepted_by(), Some("Bob Agent"));
        let outcomes: Vec<_> = esc.history().iter().map(|h| h.outcome.clone()).collect();
        assert_eq!(outcomes, [CallOutcome::Passed, CallOutcome::Accepted]);
    }
}

#[tokio::test]
async fn a_lone_incident_is_called_when_the_window_ends_as_an_ordinary_call() {
    let s = Scenario::bundled(ROSTER, WINDOW);
    s.script(ALICE, [press("1")]);
    s.start(1).await;
    let (req, delay) = s.m.dials.take_delayed().remove(0);
    assert_eq!(delay, WINDOW);

    // Delivered early (sent again after a failure): nothing placed, sent back for the rest.
    s.m.clock.set(T0 + secs(5));
    s.dial([req.clone()]).await;
    assert!(s.dialled().is_empty());
    let again = s.m.dials.take_delayed();
    assert_eq!(again, [(req.clone(), WINDOW - 5)]);

    window_ends(&s, req).await;
    assert_eq!(s.dialled(), [ALICE], "placed at the window's end");
    assert!(
        s.m.dialer.placed()[0].call.bundle.is_empty(),
        "an ordinary call"
    );
    s.settle().await;
    assert_eq!(s.esc(1).status(), Status::Accepted);
    let notes = s.write_notes(1).await;
    assert!(
        notes.iter().all(|n| !n.contains("One call about")),
        "{notes:#?}"
    );
}

#[tokio::test]
async fn when_the_openers_request_is_lost_the_sweeper_places_the_bundle_call() {
    let s = Scenario::bundled(ROSTER, WINDOW);
    s.script(ALICE, [press("1")]);
    storm(&s, 2).await; // the delayed request is dropped

    // The next sweep after the window places the opener's call, with the joiner in it.
    let report = s.sweep_at(secs(u64::from(WINDOW) + 1)).await;
    assert_eq!(report.dialled, 1, "{report:?}");
    assert_eq!(s.dialled(), [ALICE]);
    assert_eq!(s.m.dialer.placed()[0].call.bundle.len(), 1);
    s.settle().await;
    assert_eq!(s.esc(1).status(), Status::Accepted);
    assert_eq!(s.esc(2).status(), Status::Accepted);
    let late = s.sweep_at(secs(u64::from(WINDOW) + 60)).await;
    assert_eq!(s.dialled(), [ALICE], "nobody called twice: {late:?}");
}

#[tokio::test]
async fn a_joiner_whose_opener_was_cancelled_is_called_shortly_after_the_window() {
    let s = Scenario::bundled(ROSTER, WINDOW);
    s.script(ALICE, [press("1")]);
    let req = storm(&s, 2).await;
    s.engine.cancel(&sys_id(1), resolved(&s)).await.unwrap();
    window_ends(&s, req).await;
    assert!(
        s.dialled().is_empty(),
        "the opener's request places nothing: it was cancelled"
    );

    // The joiner waits the window and a little more, then the sweeper closes the bundle.
    let early = s.sweep_at(secs(u64::from(WINDOW) + 29)).await;
    assert!(s.dialled().is_empty(), "{early:?}");
    let late = s.sweep_at(secs(u64::from(WINDOW) + 31)).await;
    assert_eq!(s.dialled_for(2), [ALICE], "{late:?}");
    assert!(
        s.m.dialer.placed()[0].call.bundle.is_empty(),
        "an ordinary call"
    );
    s.settle().await;
    assert_eq!(s.esc(2).status(), Status::Accepted);
}

fn resolved(s: &Scenario) -> Cancel {
    Cancel {
        reason: CancelReason::Resolved,
        detail: None,
        by: Some("Beth Anglin".into()),
        at: s.m.now(),
    }
}

#[tokio::test]
async fn a_member_cancelled_in_servicenow_leaves_the_shared_call_ringing_for_the_others() {
    let s = Scenario::bundled(ROSTER, WINDOW);
    s.script(ALICE, [PlaceScript::Rings(CallOutcome::Accepted)]);
    let req = storm(&s, 2).await;
    window_ends(&s, req).await;
    let sid = s.call(0);

    let cancel = s.engine.cancel(&sys_id(2), resolved(&s)).await;
    assert!(cancel.is_ok(), "{cancel:?}");
    assert_eq!(s.esc(2).status(), Status::Cancelled);
    assert!(
        s.m.dialer.hung_up().is_empty(),
        "the call is incident 1's too"
    );

    s.m.dialer.finish(&sid);
    s.settle().await;
    assert_eq!(s.esc(1).status(), Status::Accepted);
    assert_eq!(
        s.esc(2).status(),
        Status::Cancelled,
        "a cancelled incident stays cancelled"
    );
}

#[tokio::test]
async fn a_full_bundle_is_called_at_once_and_the_next_incidents_open_the_next_one() {
    let s = Scenario::bundled(ROSTER, WINDOW);
    for n in 1..=12 {
        s.start(n).await;
    }
    let calls = s.m.dialer.placed();
    assert_eq!(
        calls.len(),
        1,
        "the tenth incident closed the bundle at once"
    );
    assert_eq!(calls[0].call.bundle.len(), 9, "ten incidents in one call");
    assert_eq!(
        calls[0].call.incident.number, "INC0010010",
        "placed by the one that filled it"
    );

    let delayed = s.m.dials.take_delayed();
    assert_eq!(
        delayed.len(),
        2,
        "the first bundle's opener and the second's: {delayed:?}"
    );
    s.m.clock.set(T0 + secs(u64::from(WINDOW)));
    s.dial(delayed.into_iter().map(|(r, _)| r)).await;
    let calls = s.m.dialer.placed();
    assert_eq!(
        calls.len(),
        2,
        "the first opener's request places nothing more"
    );
    let second: Vec<_> = std::iter::once(calls[1].call.incident.number.clone())
        .chain(
            calls[1]
                .call
                .bundle
                .iter()
                .map(|b| b.incident.number.clone()),
        )
        .collect();
    assert_eq!(second, ["INC0010011", "INC0010012"]);
}

#[tokio::test]
async fn when_the_person_is_on_another_call_the_whole_bundle_goes_to_the_next_person_as_one_call() {
    let s = Scenario::bundled(ROSTER, WINDOW);
    s.script(ALICE, [PlaceScript::OnAnotherCall]);
    s.script(BOB, [press("1")]);
    let req = storm(&s, 3).await;
    window_ends(&s, req).await;
    s.settle().await;

    assert_eq!(
        s.dialled(),
        [BOB],
        "Alice's line was busy: one call to Bob about all three"
    );
    assert_eq!(s.m.dialer.placed()[0].call.bundle.len(), 2);
    for n in 1..=3 {
        let esc = s.esc(n);
        assert_eq!(esc.accepted_by(), Some("Bob Agent"), "incident {n}");
        assert_eq!(esc.history()[0].outcome, CallOutcome::OnAnotherCall);
    }
}

#[tokio::test]
async fn a_bundle_call_placed_after_a_long_window_is_not_ended_by_the_sweeper_as_overdue() {
    let s = Scenario::bundled(ROSTER, 300);
    s.script(ALICE, [PlaceScript::Rings(CallOutcome::Accepted)]);
    s.start(1).await;
    let (req, _) = s.m.dials.take_delayed().remove(0);
    s.m.clock.set(T0 + secs(300));
    s.dial([req]).await;
    assert_eq!(s.dialled(), [ALICE]);

    // Ring timeout and grace after the call was placed, well within the overrun allowance.
    let report = s.sweep_at(secs(300 + 30 + 30 + 60)).await;
    assert_eq!(report.ended, 0, "{report:?}");
    assert_eq!(report.still_active, 1, "{report:?}");
}

#[tokio::test]
async fn a_bundle_call_whose_answer_was_lost_is_found_again_and_not_hung_up_for_one_incident() {
    let s = Scenario::bundled(ROSTER, WINDOW);
    s.script(
        ALICE,
        [PlaceScript::PlacedAnswerLost(CallOutcome::Accepted)],
    );
    let req = storm(&s, 2).await;
    s.m.clock.set(T0 + secs(u64::from(WINDOW)));
    assert!(
        s.engine.dial_requested(&req).await.is_err(),
        "the create's outcome is unknown"
    );
    assert_eq!(s.dialled(), [ALICE]);

    // After the leases run out the sweeper finds the call and records it on both.
    s.sweep_at(secs(u64::from(WINDOW) + 61)).await;
    s.sweep_at(secs(u64::from(WINDOW) + 62)).await;
    assert_eq!(s.dialled(), [ALICE], "found again, not placed again");
    for n in 1..=2 {
        assert_eq!(
            s.esc(n).current().unwrap().phase,
            Phase::Calling,
            "incident {n}"
        );
    }
    s.engine.cancel(&sys_id(2), resolved(&s)).await.unwrap();
    assert!(
        s.m.dialer.hung_up().is_empty(),
        "the found call may be incident 1's too"
    );
    s.m.dialer.finish(&s.call(0));
    s.settle().await;
    assert_eq!(s.esc(1).status(), Status::Accepted);
}
