//! Start: an incident is escalated once, its plan noted once, its first call placed once,
//! however often the trigger is repeated and whatever was down the first time.

mod support;

use async_trait::async_trait;
use escalation_core::escalation::{Phase, Status};
use escalation_core::model::Incident;
use escalation_core::ports::{LineupError, LineupSource, Metric, Resolved, TelephonyErrorKind};
use escalation_core::testing::PlaceScript;
use escalation_core::usecase::{Engine, EngineError, Settings};
use std::sync::Arc;
use support::*;

#[tokio::test]
async fn an_escalated_incident_gets_its_plan_noted_and_its_first_agent_called() {
    let s = Scenario::new();
    let (stored, new) = s.start(1).await;
    assert!(new);
    let esc = &stored.escalation;
    assert_eq!(esc.status(), Status::Active);
    let first = esc.current().unwrap();
    assert_eq!(
        (first.number, first.person.name.as_str()),
        (1, "Alice Agent")
    );
    assert_eq!(first.phase, Phase::Calling);
    assert_eq!(first.execution_sid.as_ref(), Some(&s.call(0)));
    assert_eq!(s.dialled(), [ALICE]);

    assert_eq!(s.queued_for(1), ["started"]);
    let started = s.queued(&format!("{}:started", esc.id())).work_note;
    assert!(
        started.contains(
            "Agents: Alice Agent (+1******0001), Bob Agent (+1******0002); then escalation list: Carol Manager (+1******0003). Press 1 accepts, 2 passes, 3 escalates."
        ),
        "{started}"
    );
    assert!(!started.contains(ALICE), "no full numbers");
}

#[tokio::test]
async fn a_repeated_trigger_answers_with_the_same_escalation_and_calls_nobody_again() {
    let s = Scenario::new();
    s.script(ALICE, [press("1")]);
    let (first, new) = s.start(2).await;
    let (second, again) = s.start(2).await;
    assert!(new && !again);
    assert_eq!(first.escalation.id(), second.escalation.id());
    s.settle().await;

    let (after, again) = s.start(2).await;
    assert!(!again);
    assert_eq!(after.escalation.status(), Status::Accepted);
    assert_eq!(after.escalation.accepted_by(), Some("Alice Agent"));
    assert_eq!(s.dialled(), [ALICE], "exactly one call");
    let notes = s.write_notes(2).await;
    let started = notes
        .iter()
        .filter(|n| n.contains("Phone escalation started"));
    assert_eq!(started.count(), 1, "{notes:#?}");
}

#[tokio::test]
async fn a_first_call_that_could_not_be_placed_is_placed_by_the_repeated_trigger_once() {
    let s = Scenario::new();
    s.script(ALICE, [PlaceScript::Fails(TelephonyErrorKind::Unavailable)]);
    let down = s.engine.start(incident(3)).await;
    assert!(matches!(down, Err(EngineError::Telephony(_))), "{down:?}");
    assert!(s.dialled().is_empty());
    let waiting = s.esc(3).current().unwrap().clone();
    assert_eq!(
        waiting.phase,
        Phase::Dialing,
        "the escalation was recorded before the call"
    );
    assert_eq!(waiting.dial_lease_until, None, "and its lease given back");
    assert_eq!(s.metric(Metric::TwilioErrors), 1.0);

    let (stored, new) = s.start(3).await;
    assert!(!new);
    assert_eq!(
        s.dialled(),
        [ALICE],
        "the stalled first call is placed on resend"
    );
    assert_eq!(stored.escalation.current().unwrap().phase, Phase::Calling);
    s.start(3).await;
    assert_eq!(s.dialled(), [ALICE], "and only once");
    assert_eq!(s.write_notes(3).await.len(), 1, "the plan is noted once");
}

#[tokio::test]
async fn when_the_update_queue_is_down_at_start_the_repeated_trigger_notes_the_plan_and_calls() {
    let s = Scenario::new();
    s.m.outbox.fail(1);
    let down = s.engine.start(incident(4)).await;
    assert!(matches!(down, Err(EngineError::Outbox(_))), "{down:?}");
    assert!(s.dialled().is_empty(), "no call before its plan is queued");
    assert!(s.m.outbox.all().is_empty());

    let (_, new) = s.start(4).await;
    assert!(!new);
    assert_eq!(s.queued_for(4), ["started"]);
    assert_eq!(s.dialled(), [ALICE]);
}

struct NobodyOnCall;

#[async_trait]
impl LineupSource for NobodyOnCall {
    fn name(&self) -> &str {
        "nobody"
    }
    async fn lineup_for(&self, _: &Incident, _: u64) -> Result<Resolved, LineupError> {
        Err(LineupError::NoPolicy(
            "no escalation policy for group Database and no default policy".into(),
        ))
    }
}

#[tokio::test]
async fn an_incident_nobody_can_be_called_for_is_not_recorded_but_noted() {
    let s = Scenario::new();
    let ports = escalation_core::usecase::Ports {
        lineups: Arc::new(NobodyOnCall),
        ..s.m.ports()
    };
    let engine = Engine::new(ports, Settings::default());
    let result = engine.start(incident(5)).await;
    assert!(
        matches!(&result, Err(EngineError::NobodyToCall(why)) if why.contains("no escalation policy for group Database")),
        "{result:?}"
    );
    assert!(s.m.repo.get(&sys_id(5)).is_none());
    assert!(s.dialled().is_empty());
    let notes: Vec<String> =
        s.m.outbox
            .all()
            .iter()
            .map(|u| u.work_note.clone())
            .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains("Nobody was called")
            && notes[0].contains("Configure an escalation policy"),
        "{}",
        notes[0]
    );
}

#[tokio::test]
async fn only_the_configured_priorities_escalate() {
    let s = Scenario::new();
    assert!(s.engine.escalates("1") && s.engine.escalates("2"));
    assert!(!s.engine.escalates("3") && !s.engine.escalates("4"));
    let p1_only = Settings {
        priorities: vec!["1".into()],
        ..Settings::default()
    };
    let engine = s.m.engine(p1_only);
    assert!(engine.escalates("1") && !engine.escalates("2"));
}

#[tokio::test]
async fn the_started_note_is_not_lost_when_queueing_it_fails_after_the_escalation_is_stored() {
    let s = Scenario::new();
    s.script(ALICE, [press("1")]);
    // The escalation is stored, then the queue refuses the "started" note.
    s.m.outbox.fail(1);
    assert!(s.engine.start(incident(1)).await.is_err());
    assert!(
        s.m.repo.get(&sys_id(1)).is_some(),
        "the escalation is durable"
    );
    // Nobody sends the trigger again: the sweeper places the first call, and the note the
    // escalation owes is queued before it.
    s.sweep_at(secs(31)).await;
    s.settle().await;
    assert_eq!(s.dialled(), [ALICE]);
    assert_eq!(s.queued_for(1), ["started", "attempt:1"], "{:?}", s.keys());
}
