//! An escalation stored by the previous release, mid-walk, is picked up by this release
//! and finished: the item is written to the table exactly as the previous release wrote
//! it, and the real sweeper, flow-events and updater take it from there.

mod support;

use aws_sdk_dynamodb::types::AttributeValue;
use escalation_core::escalation::Status;
use escalation_devtools::stack::{BOB, Stack, StackOptions, user_sys_id};
use std::time::Duration;
use support::press;

/// The previous release's document: attempt 5 (Bob, who had been on another escalation's
/// call) waits in DIALING after a busy wait, claimed once by a dialer that is long gone.
const BUSY_WAIT: &str =
    include_str!("../../../crates/escalation-core/tests/fixtures/previous_release/busy_wait.json");
const SYS_ID: &str = "ef43c6d40a0a0b5700c77f9bf387afe3";

#[tokio::test]
async fn an_escalation_stored_by_the_previous_release_loads_and_continues() {
    let stack = Stack::start(StackOptions::default()).await;
    stack
        .sn
        .add_incident(SYS_ID, "INC0010042", "R&D VPN down", "1");
    stack.twilio.script(BOB, vec![press("1")]);
    let s = |v: &str| AttributeValue::S(v.to_string());
    let n = |v: u64| AttributeValue::N(v.to_string());
    aws_sdk_dynamodb::Client::new(&stack.sdk)
        .put_item()
        .table_name(&stack.resources.table)
        .item("pk", s(&format!("esc#{SYS_ID}")))
        .item("version", n(9))
        .item("doc", s(BUSY_WAIT.trim_end()))
        .item("status", s("ACTIVE"))
        .item("phase", s("DIALING"))
        .item("escalation_id", s("ESC-0123456789ab"))
        .item("incident_number", s("INC0010042"))
        .item("updated_at", n(1_795_255_331_000))
        .item("active", s("ACTIVE"))
        .send()
        .await
        .unwrap();

    let before = stack.escalation(SYS_ID).await.expect("the old item loads");
    assert_eq!(before.version, 9);
    assert_eq!(before.escalation.history().len(), 4);
    assert_eq!(
        before.escalation.current().unwrap().person.name,
        "Bob Agent"
    );

    // The busy wait and the old lease are long over: the sweeper places Bob's call.
    let report = stack.invoke_sweeper().await;
    assert_eq!(report["dialled"], 1, "{report}");
    stack.settle(&[SYS_ID], Duration::from_secs(30)).await;

    let esc = stack.escalation(SYS_ID).await.unwrap().escalation;
    assert_eq!(esc.status(), Status::Accepted);
    assert_eq!(esc.accepted_by(), Some("Bob Agent"));
    assert_eq!(esc.history().len(), 5, "the old history is kept");
    let executions = stack.twilio.executions();
    assert_eq!(executions.len(), 1, "one call: Bob's");
    assert_eq!(executions[0].to, BOB);
    let notes = stack.sn.work_notes(SYS_ID);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("Attempt 5") && n.contains("ACCEPTED by Bob Agent")),
        "{notes:#?}"
    );
    let incident = stack.sn.incident(SYS_ID).unwrap();
    assert_eq!(incident["assigned_to"], user_sys_id("bob.agent"));
}
