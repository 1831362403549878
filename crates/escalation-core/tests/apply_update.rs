//! The updater: each queued update is written to the incident exactly once, whatever
//! ServiceNow answers and however often the queue delivers it.

mod support;

use escalation_core::ports::{Mark, Metric, ServiceNowErrorKind};
use escalation_core::testing::PatchFault;
use escalation_core::update::{IncidentState, IncidentUpdate};
use escalation_core::usecase::{Applied, UpdateError};
use support::*;

const UNAVAILABLE: ServiceNowErrorKind = ServiceNowErrorKind::Unavailable;

/// The escalation of incident `n` started; its "started" update.
async fn started(s: &Scenario, n: u32) -> IncidentUpdate {
    s.start(n).await;
    s.m.outbox.all().remove(0)
}

/// Incident `n` accepted by Alice on the first call; its accept update.
async fn accepted(s: &Scenario, n: u32) -> IncidentUpdate {
    s.script(ALICE, [press("1")]);
    s.start(n).await;
    s.settle().await;
    s.m.outbox.all().pop().unwrap()
}

fn counted(s: &Scenario, metric: Metric) -> f64 {
    s.m.metrics
        .all()
        .into_iter()
        .filter(|(d, m, _)| d == "incident-updater" && *m == metric)
        .map(|(.., v)| v)
        .sum()
}

#[tokio::test]
async fn an_update_is_written_once_with_its_reference() {
    let s = Scenario::new();
    let update = started(&s, 1).await;
    let applier = s.m.applier();
    assert_eq!(
        applier.apply(&update, false).await.unwrap(),
        Applied::Written
    );
    assert_eq!(
        applier.apply(&update, false).await.unwrap(),
        Applied::AlreadyApplied
    );
    assert_eq!(
        applier.apply(&update, true).await.unwrap(),
        Applied::AlreadyApplied
    );

    let notes = s.m.servicenow.notes(&sys_id(1));
    assert_eq!(notes.len(), 1);
    assert_eq!(
        notes[0],
        format!("{}\n(ref {})", update.work_note, update.key)
    );
    assert!(s.m.marks.contains(&Mark::Update(update.key.clone())));
    assert_eq!(counted(&s, Metric::DuplicatesDropped), 2.0);
}

#[tokio::test]
async fn a_redelivered_update_whose_mark_was_lost_is_found_by_its_reference_and_not_written_again()
{
    let s = Scenario::new();
    let update = started(&s, 2).await;
    let applier = s.m.applier();
    applier.apply(&update, false).await.unwrap();
    // The updater died between the write and the mark.
    s.m.marks.remove(&Mark::Update(update.key.clone()));

    assert_eq!(
        applier.apply(&update, true).await.unwrap(),
        Applied::AlreadyApplied
    );
    assert_eq!(s.m.servicenow.patches().len(), 1, "not written twice");
    assert!(
        s.m.marks.contains(&Mark::Update(update.key.clone())),
        "marked now"
    );
}

#[tokio::test]
async fn a_write_that_failed_after_servicenow_took_it_is_not_repeated_on_redelivery() {
    let s = Scenario::new();
    let update = started(&s, 3).await;
    let applier = s.m.applier();
    s.m.servicenow
        .fault_patches([PatchFault::After(UNAVAILABLE)]);

    let first = applier.apply(&update, false).await;
    assert!(
        matches!(first, Err(UpdateError::ServiceNow(_))),
        "{first:?}"
    );
    assert_eq!(
        s.m.servicenow.notes(&sys_id(3)).len(),
        1,
        "ServiceNow took it"
    );
    assert_eq!(counted(&s, Metric::ServiceNowErrors), 1.0);
    assert_eq!(
        applier.apply(&update, true).await.unwrap(),
        Applied::AlreadyApplied
    );
    assert_eq!(s.m.servicenow.notes(&sys_id(3)).len(), 1);
}

#[tokio::test]
async fn a_write_refused_by_servicenow_is_written_on_redelivery() {
    let s = Scenario::new();
    let update = accepted(&s, 4).await;
    let applier = s.m.applier();
    s.m.servicenow
        .fault_patches([PatchFault::Before(UNAVAILABLE); 2]);
    for delivery in [false, true] {
        assert!(applier.apply(&update, delivery).await.is_err());
    }
    assert!(s.m.servicenow.patches().is_empty());
    assert_eq!(counted(&s, Metric::ServiceNowErrors), 2.0);

    assert_eq!(
        applier.apply(&update, true).await.unwrap(),
        Applied::Written
    );
    let patch = s.m.servicenow.patches().pop().unwrap().patch;
    assert_eq!(patch.state, Some(IncidentState::InProgress));
    assert_eq!(patch.assigned_to, Some(user_sys_id("alice.agent")));
    assert!(patch.work_note.contains("ACCEPTED by Alice Agent"));
}

#[tokio::test]
async fn a_roster_user_unknown_to_servicenow_is_noted_instead_of_assigned() {
    let s = Scenario::new();
    let mut update = accepted(&s, 5).await;
    update.assign_to = Some("ghost.user".into());
    s.m.applier().apply(&update, false).await.unwrap();

    let patch = s.m.servicenow.patches().pop().unwrap().patch;
    assert_eq!(patch.assigned_to, None);
    assert_eq!(patch.state, Some(IncidentState::InProgress), "still taken");
    assert!(
        patch.work_note.contains(
            r#"Note: roster user "ghost.user" was not found in ServiceNow (sys_user), so assigned_to was not set."#
        ),
        "{}",
        patch.work_note
    );
}

#[tokio::test]
async fn when_the_marks_cannot_be_read_nothing_is_written_and_servicenow_is_not_blamed() {
    let s = Scenario::new();
    let update = started(&s, 6).await;
    s.m.marks.fail(1);
    let result = s.m.applier().apply(&update, false).await;
    assert!(matches!(result, Err(UpdateError::Repo(_))), "{result:?}");
    assert!(s.m.servicenow.patches().is_empty());
    assert_eq!(counted(&s, Metric::ServiceNowErrors), 0.0);
}

#[tokio::test]
async fn calls_go_on_while_servicenow_is_down_and_every_note_is_written_in_order_once_it_is_back() {
    let s = Scenario::new();
    s.script(ALICE, [press("2")]);
    s.script(BOB, [press("1")]);
    s.start(7).await;
    s.settle().await;
    assert_eq!(
        s.esc(7).accepted_by(),
        Some("Bob Agent"),
        "the walk did not wait"
    );

    let updates = s.m.outbox.all();
    let applier = s.m.applier();
    s.m.servicenow
        .fault_patches(vec![PatchFault::Before(UNAVAILABLE); updates.len()]);
    for u in &updates {
        assert!(applier.apply(u, false).await.is_err());
    }
    assert!(s.m.servicenow.notes(&sys_id(7)).is_empty());
    // ServiceNow is back; every update is delivered again (and some twice).
    for u in updates.iter().chain(&updates) {
        applier.apply(u, true).await.unwrap();
    }
    let notes = s.m.servicenow.notes(&sys_id(7));
    assert_eq!(notes.len(), 3, "none lost, none twice: {notes:#?}");
    assert!(notes[0].contains("Phone escalation started"));
    assert!(
        notes[1].contains("Attempt 1") && notes[2].contains("Attempt 2"),
        "in order"
    );
}

#[tokio::test]
async fn an_acceptance_that_servicenow_accepted_but_did_not_keep_is_reported() {
    let s = Scenario::new();
    let update = accepted(&s, 1).await;
    // An ACL lets the integration user write work notes but drops assigned_to.
    s.m.servicenow.drop_field("assigned_to");
    let applied = s.m.applier().apply(&update, false).await.unwrap();
    assert_eq!(
        applied,
        Applied::Written,
        "retrying would not help: it is done"
    );
    assert_eq!(counted(&s, Metric::AssignmentNotApplied), 1.0);
    let notes = s.m.servicenow.notes(&sys_id(1));
    assert!(
        notes.last().unwrap().contains("did not keep assigned_to")
            && notes.last().unwrap().contains("by hand"),
        "the incident says so: {notes:#?}"
    );
    // An update that sticks reports nothing.
    let s = Scenario::new();
    let update = accepted(&s, 2).await;
    s.m.applier().apply(&update, false).await.unwrap();
    assert_eq!(counted(&s, Metric::AssignmentNotApplied), 0.0);
}

#[tokio::test]
async fn an_acceptance_never_reopens_or_reassigns_a_resolved_incident() {
    let s = Scenario::new();
    let update = accepted(&s, 12).await;
    assert_eq!(update.state, Some(IncidentState::InProgress));
    s.m.servicenow.close(&sys_id(12));

    let applier = s.m.applier();
    assert_eq!(
        applier.apply(&update, false).await.unwrap(),
        Applied::Written
    );
    let written = s.m.servicenow.patches().pop().unwrap().patch;
    assert_eq!(written.state, None, "not put back to In Progress");
    assert_eq!(written.assigned_to, None, "not reassigned");
    assert!(written.work_note.starts_with(&update.work_note));
    assert!(
        written.work_note.contains("already resolved or closed"),
        "{}",
        written.work_note
    );
}

#[tokio::test]
async fn a_note_alone_on_a_resolved_incident_is_written_as_it_is() {
    let s = Scenario::new();
    let update = started(&s, 13).await;
    s.m.servicenow.close(&sys_id(13));
    s.m.applier().apply(&update, false).await.unwrap();
    let written = s.m.servicenow.patches().pop().unwrap().patch;
    assert_eq!(
        written.work_note,
        format!("{}\n(ref {})", update.work_note, update.key)
    );
}
