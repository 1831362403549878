//! Who is called comes from the escalation policies, resolved per incident when it starts,
//! through the real incident-trigger on moto: two groups call different people, a policy
//! imported while the stack runs is used by the next incident, and with no policy nobody
//! is called and the incident says so.

mod support;

use escalation_devtools::stack::{Stack, StackOptions, user_sys_id};
use serde_json::{Value, json};
use support::{ANA, BEN, CARA, DAN, SETTLE, dialled, press, sys_id};

fn people() -> Value {
    json!({
        "ana": {"name": "Ana Ortiz", "phone": ANA, "sn_user": "ana.ortiz"},
        "ben": {"name": "Ben Okafor", "phone": BEN, "sn_user": "ben.okafor"},
        "cara": {"name": "Cara Diaz", "phone": CARA, "sn_user": "cara.diaz"},
        "dan": {"name": "Dan Wu", "phone": DAN, "sn_user": "dan.wu"}
    })
}

fn two_teams() -> Value {
    json!({
        "people": people(),
        "groups": {
            "Database": {"steps": [{"person": "ana"}, {"person": "dan", "escalation": true}]},
            "Network": {"steps": [{"person": "cara"}, {"person": "dan", "escalation": true}]}
        }
    })
}

/// A stack with no policy file: only the stored policies, read again for every incident.
async fn stack() -> Stack {
    let stack = Stack::start(StackOptions {
        roster_json: String::new(),
        env: vec![("POLICY_CACHE_SECS", "0".into())],
        ..StackOptions::default()
    })
    .await;
    support::add_people(&stack);
    stack
}

#[tokio::test]
async fn incidents_of_two_groups_call_different_people_and_the_note_names_the_policy() {
    let stack = stack().await;
    stack.import_policies(&two_teams()).await.unwrap();
    stack.twilio.script(ANA, vec![press("1")]);
    stack.twilio.script(CARA, vec![press("1")]);
    let (db, net) = (sys_id(0x1201), sys_id(0x1202));
    let (status, body) = stack
        .trigger_group(&db, "INC0012001", "Replica lag", "1", Some("Database"))
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["calling"], "Ana Ortiz");
    let (status, body) = stack
        .trigger_group(&net, "INC0012002", "Core switch down", "1", Some("Network"))
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["calling"], "Cara Diaz");
    stack.settle(&[&db, &net], SETTLE).await;

    assert_eq!(dialled(&stack), [ANA, CARA]);
    let notes = stack.sn.work_notes(&db);
    assert!(
        notes[0].contains(
            "Agents: Ana Ortiz (+1******0101); then escalation list: Dan Wu (+1******0104)"
        ) && notes[0].contains("Who to call: stored policies: policy Database."),
        "{}",
        notes[0]
    );
    assert!(
        stack.sn.work_notes(&net)[0].contains("stored policies: policy Network"),
        "{:?}",
        stack.sn.work_notes(&net)
    );
    assert_eq!(
        stack.sn.incident(&net).unwrap()["assigned_to"],
        user_sys_id("cara.diaz"),
        "the person maps to their ServiceNow user"
    );
}

#[tokio::test]
async fn a_policy_imported_while_the_stack_runs_is_used_by_the_next_incident() {
    let stack = stack().await;
    stack.import_policies(&two_teams()).await.unwrap();
    let first = sys_id(0x1211);
    let (_, body) = stack
        .trigger_group(&first, "INC0012011", "Slow queries", "2", Some("Database"))
        .await;
    assert_eq!(body["calling"], "Ana Ortiz");

    // The Database team now starts with Ben; no deploy, no restart.
    let mut changed = two_teams();
    changed["groups"]["Database"]["steps"][0] = json!({"person": "ben"});
    assert_eq!(stack.import_policies(&changed).await.unwrap(), 2);
    let second = sys_id(0x1212);
    let (_, body) = stack
        .trigger_group(&second, "INC0012012", "Deadlocks", "2", Some("Database"))
        .await;
    assert_eq!(body["calling"], "Ben Okafor");

    // The first escalation's lineup was snapshotted when it started: it still has Ana.
    let esc = stack.escalation(&first).await.unwrap().escalation;
    assert_eq!(esc.roster().agents[0].name, "Ana Ortiz");
}

#[tokio::test]
async fn with_no_policy_for_the_group_and_no_default_nobody_is_called_and_the_incident_says_so() {
    let stack = stack().await;
    let id = sys_id(0x1221);
    let (status, body) = stack
        .trigger_group(&id, "INC0012021", "Printer on fire", "1", Some("Hardware"))
        .await;
    assert_eq!(status, 422, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(error.contains("nobody to call for INC0012021"), "{error}");
    assert!(error.contains("no stored policies"), "{error}");

    stack.import_policies(&two_teams()).await.unwrap();
    let other = sys_id(0x1222);
    let (status, body) = stack
        .trigger_group(&other, "INC0012022", "Toner low", "1", Some("Hardware"))
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("no escalation policy for group Hardware and no default policy"),
        "{body}"
    );
    // No escalation to settle: deliver the queued notes.
    while stack.pump_sqs().await.is_some() {}
    assert!(stack.twilio.executions().is_empty(), "nobody was called");
    assert!(stack.escalation(&id).await.is_none());
    let notes = stack.sn.work_notes(&other);
    assert_eq!(notes.len(), 1, "{notes:#?}");
    assert!(
        notes[0].contains("Nobody was called for this incident (group Hardware)")
            && notes[0].contains("Configure an escalation policy"),
        "{}",
        notes[0]
    );
}

#[tokio::test]
async fn an_import_with_an_error_or_the_sample_people_changes_nothing() {
    let stack = stack().await;
    stack.import_policies(&two_teams()).await.unwrap();
    let mut broken = two_teams();
    broken["groups"]["Network"]["steps"] = json!([]);
    let err = stack.import_policies(&broken).await.unwrap_err();
    assert!(err.contains("groups.Network.steps: no steps"), "{err}");
    let sample: Value = serde_json::from_str(escalation_devtools::fixture::SAMPLE_ROSTER).unwrap();
    let err = stack.import_policies(&sample).await.unwrap_err();
    assert!(
        err.contains("Alice Example, Bob Example, Carol Example"),
        "{err}"
    );
    let stored = stack.policy_store().load().await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    assert_eq!(stored.document, two_teams().to_string());
}
