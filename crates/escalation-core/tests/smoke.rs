use escalation_core::escalation::Status;
use escalation_core::model::{CallOutcome, Incident, Roster, SysId};
use escalation_core::testing::{Memory, PlaceScript};
use escalation_core::usecase::{EventOutcome, Settings, UpdateApplier};

const ROSTER: &str = r#"{"agent_list":[{"name":"Alice","phone_no":"+15550100001","sn_user":"alice"},{"name":"Bob","phone_no":"+15550100002"}],
 "escalation_list":[{"name":"Carol","phone_no":"+15550100003"}]}"#;

#[tokio::test]
async fn pass_then_accept() {
    let m = Memory::new(Roster::from_json(ROSTER).unwrap());
    m.dialer
        .script("+15550100001", [PlaceScript::Ends(CallOutcome::Passed)]);
    m.dialer
        .script("+15550100002", [PlaceScript::Ends(CallOutcome::Accepted)]);
    let engine = m.engine(Settings::default());
    let sys_id = SysId::parse("ef43c6d40a0a0b5700c77f9bf387afe3").unwrap();
    let (stored, new) = engine
        .start(Incident {
            sys_id: sys_id.clone(),
            number: "INC1".into(),
            short_description: "x".into(),
            priority: "1".into(),
            assignment_group: None,
        })
        .await
        .unwrap();
    assert!(new);
    assert_eq!(stored.escalation.current().unwrap().person.name, "Alice");
    let sid = m.dialer.last_sid().unwrap();
    let r = engine.on_flow_ended("ev1", sid.as_str()).await.unwrap();
    assert!(matches!(r, EventOutcome::Applied(_)));
    assert_eq!(
        engine.on_flow_ended("ev1", sid.as_str()).await.unwrap(),
        EventOutcome::Duplicate
    );
    let sid = m.dialer.last_sid().unwrap();
    engine.on_flow_ended("ev2", sid.as_str()).await.unwrap();
    let esc = m.repo.get(&sys_id).unwrap().escalation;
    assert_eq!(esc.status(), Status::Accepted);
    assert_eq!(esc.accepted_by(), Some("Bob"));
    let applier: UpdateApplier = m.applier();
    for u in m.outbox.unique() {
        applier.apply(&u, false).await.unwrap();
    }
    assert_eq!(m.servicenow.notes(&sys_id).len(), 3);
}
