//! A ring-all step through the engine: every agent is called at once, the first press of 1
//! wins, the other calls are hung up, a late press hears who accepted, and the losers'
//! flow-end events are duplicates; passes count only once every call of the step ended.

mod support;

use escalation_core::escalation::Status;
use escalation_core::model::{CallOutcome, ExecutionSid};
use escalation_core::testing::PlaceScript;
use escalation_core::usecase::{Choice, DecisionReply, EventOutcome, LiveDecision, Verdict};
use support::*;

fn decision(s: &Scenario, attempt: u32, sid: &ExecutionSid, choice: Choice) -> LiveDecision {
    LiveDecision {
        incident: sys_id(1),
        escalation_id: s.esc(1).id().clone(),
        attempt,
        execution: Some(sid.clone()),
        choice,
    }
}

async fn decide(s: &Scenario, d: &LiveDecision) -> DecisionReply {
    s.engine.on_live_decision(d).await.unwrap().unwrap()
}

fn assignments(s: &Scenario) -> Vec<String> {
    s.m.outbox
        .unique()
        .into_iter()
        .filter_map(|u| u.assign_to)
        .collect()
}

/// Alice, Bob and Dan ring together; each call rings on until the test ends it.
async fn three_ringing() -> (Scenario, [ExecutionSid; 3]) {
    let s = Scenario::ring_all(ROSTER_WITH_DAN);
    for number in [ALICE, BOB, DAN] {
        s.script(number, [PlaceScript::Rings(CallOutcome::NoAnswer)]);
    }
    s.start(1).await;
    assert_eq!(s.dialled(), [ALICE, BOB, DAN], "all three at once");
    let calls = [s.call(0), s.call(1), s.call(2)];
    (s, calls)
}

#[tokio::test]
async fn the_first_press_wins_the_others_are_hung_up_and_a_late_press_hears_who_has_it() {
    let (s, [alice, bob, dan]) = three_ringing().await;
    let reply = decide(&s, &decision(&s, 2, &bob, Choice::Accept)).await;
    assert_eq!(reply.verdict, Verdict::Assigned);
    assert_eq!(s.m.dialer.hung_up(), [alice.clone(), dan.clone()]);
    assert_eq!(assignments(&s), ["bob.agent"]);

    let late = decide(&s, &decision(&s, 3, &dan, Choice::Accept)).await;
    assert_eq!(
        late.verdict,
        Verdict::AlreadyAccepted {
            by: "Bob Agent".into()
        }
    );
    assert!(
        late.say.contains("already accepted by Bob Agent"),
        "{}",
        late.say
    );

    for sid in [&alice, &dan] {
        assert_eq!(s.deliver(sid).await, EventOutcome::Duplicate);
    }
    s.m.dialer.finish(&bob);
    assert_eq!(s.deliver(&bob).await, EventOutcome::Duplicate);
    assert_eq!(s.dialled().len(), 3, "nobody else is called");
    assert_eq!(assignments(&s), ["bob.agent"]);
    let esc = s.esc(1);
    assert_eq!(esc.status(), Status::Accepted);
    let hung_up = CallOutcome::HungUp("Bob Agent".into());
    let outcomes: Vec<&CallOutcome> = esc.history().iter().map(|h| &h.outcome).collect();
    assert_eq!(outcomes, [&CallOutcome::Accepted, &hung_up, &hung_up]);
}

#[tokio::test]
async fn presses_of_the_ring_at_the_same_moment_assign_once() {
    let (s, [alice, bob, dan]) = three_ringing().await;
    let (a, b, d) = (
        decision(&s, 1, &alice, Choice::Accept),
        decision(&s, 2, &bob, Choice::Accept),
        decision(&s, 3, &dan, Choice::Accept),
    );
    let (ra, rb, rd) = tokio::join!(decide(&s, &a), decide(&s, &b), decide(&s, &d));
    let verdicts = [ra.verdict, rb.verdict, rd.verdict];
    let won = verdicts.iter().filter(|v| **v == Verdict::Assigned).count();
    assert_eq!(won, 1, "{verdicts:?}");
    let winner = s.esc(1).accepted_by().unwrap().to_owned();
    for v in verdicts.iter().filter(|v| **v != Verdict::Assigned) {
        assert_eq!(v, &Verdict::AlreadyAccepted { by: winner.clone() });
    }
    assert_eq!(assignments(&s).len(), 1);
    assert_eq!(s.m.dialer.hung_up().len(), 2);
}

#[tokio::test]
async fn a_pass_waits_for_the_rest_of_the_step_then_the_walk_moves_on() {
    let (s, [alice, bob, dan]) = three_ringing().await;
    s.script(CAROL, [PlaceScript::Rings(CallOutcome::NoAnswer)]);
    let reply = decide(&s, &decision(&s, 1, &alice, Choice::Pass(None))).await;
    assert_eq!(reply.verdict, Verdict::Passed);
    assert_eq!(s.dialled().len(), 3, "Bob and Dan still ring");
    s.m.dialer.finish(&alice);
    s.m.dialer.finish(&bob);
    s.settle().await;
    assert_eq!(s.dialled().len(), 3, "Dan still rings");
    s.m.dialer.finish(&dan);
    s.settle().await;
    assert_eq!(s.dialled().last().map(String::as_str), Some(CAROL));
    assert_eq!(s.calling(1), "Carol Manager");
}

#[tokio::test]
async fn the_sweeper_places_the_calls_of_the_step_a_dead_dialer_left() {
    use escalation_core::escalation::{DIAL_LEASE_MS, Phase};
    let s = Scenario::ring_all(ROSTER_WITH_DAN);
    s.script(ALICE, [PlaceScript::Rings(CallOutcome::NoAnswer)]);
    s.script(
        BOB,
        [
            PlaceScript::DiesBeforePlacing,
            PlaceScript::Rings(CallOutcome::NoAnswer),
        ],
    );
    s.script(DAN, [PlaceScript::Rings(CallOutcome::NoAnswer)]);
    let engine = s.engine.clone();
    let run = tokio::spawn(async move { engine.start(incident(1)).await });
    assert!(
        run.await.unwrap_err().is_panic(),
        "the dialer died on Bob's call"
    );
    assert_eq!(s.dialled(), [ALICE]);
    let phases: Vec<(u32, Phase)> = s.esc(1).in_flight().map(|a| (a.number, a.phase)).collect();
    assert_eq!(
        phases,
        [
            (1, Phase::Calling),
            (2, Phase::Dialing),
            (3, Phase::Dialing)
        ]
    );

    let report = s.sweep_at(DIAL_LEASE_MS + secs(1)).await;
    assert_eq!(report.dialled, 1);
    assert_eq!(s.dialled(), [ALICE, BOB, DAN], "each placed once");
    assert!(s.esc(1).in_flight().all(|a| a.phase == Phase::Calling));
    assert_eq!(s.sweep_at(DIAL_LEASE_MS + secs(2)).await.dialled, 0);
}
