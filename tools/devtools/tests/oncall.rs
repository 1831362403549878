//! Who is called comes first from ServiceNow On-Call Scheduling (the product's Scripted REST
//! API, served by the ServiceNow fake from its rotas), through the real incident-trigger on
//! moto: two groups call their on-call people, a hand-off and an override change who is
//! called, acceptance assigns the On-Call user; On-Call slow, refusing, down or answering
//! garbage falls back to the stored policies within the budget, the started note says why,
//! and the fallback is counted.

mod support;

use escalation_core::ports::Metric;
use escalation_core::testing::RecordingMetrics;
use escalation_devtools::stack::{Stack, StackOptions, user_sys_id};
use escalation_fakes::FaultRule;
use escalation_fakes::servicenow::oncall::Rota;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{ANA, BEN, CARA, DAN, SETTLE, dialled, press, sys_id};

const HOUR: u64 = 3_600_000;
const BUDGET_MS: u64 = 800;

/// A stack asking On-Call first (budget 800 ms), then the stored policies: Database → Dan,
/// Network → Dan (so a call to Dan means the stored policy was used).
async fn stack() -> (Stack, Arc<RecordingMetrics>) {
    let metrics = Arc::new(RecordingMetrics::default());
    let stack = Stack::start(StackOptions {
        roster_json: String::new(),
        env: vec![
            ("POLICY_CACHE_SECS", "0".into()),
            (
                "SERVICENOW_ONCALL_PATH",
                escalation_fakes::servicenow::oncall::PATH.into(),
            ),
            ("SERVICENOW_ONCALL_BUDGET_MS", BUDGET_MS.to_string()),
        ],
        metrics: Some(metrics.clone()),
        ..StackOptions::default()
    })
    .await;
    support::add_people(&stack);
    let stored = json!({
        "people": {"dan": {"name": "Dan Wu", "phone": DAN, "sn_user": "dan.wu"}},
        "groups": {
            "Database": {"steps": [{"person": "dan"}]},
            "Network": {"steps": [{"person": "dan"}]},
            "Storage": {"steps": [{"person": "dan"}]}
        }
    });
    stack.import_policies(&stored).await.unwrap();
    (stack, metrics)
}

/// `group`'s rota: `members` (user names) in turn, one hour each, the first on call since
/// ten minutes ago.
fn rota(group: &str, members: &[&str]) -> Rota {
    Rota {
        group: group.into(),
        name: format!("{group} primary"),
        members: members.iter().map(|m| user_sys_id(m)).collect(),
        start_ms: support::now() - 10 * 60_000,
        shift_ms: HOUR,
        time_to_next_step_secs: 900,
        ..Rota::default()
    }
}

fn first_note(stack: &Stack, sys_id: &str) -> String {
    stack
        .sn
        .work_notes(sys_id)
        .first()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn incidents_of_two_groups_call_who_servicenow_on_call_says_and_acceptance_assigns_them() {
    let (stack, metrics) = stack().await;
    stack
        .sn
        .set_rota(rota("Database", &["ana.ortiz", "ben.okafor"]));
    stack.sn.set_rota(rota("Network", &["cara.diaz", "dan.wu"]));
    stack.twilio.script(ANA, vec![press("1")]);
    stack.twilio.script(CARA, vec![press("1")]);
    let (db, net) = (sys_id(0x1301), sys_id(0x1302));
    let (status, body) = stack
        .trigger_group(&db, "INC0013001", "Replica lag", "1", Some("Database"))
        .await;
    assert_eq!(
        (status, body["calling"].as_str()),
        (202, Some("Ana Ortiz")),
        "{body}"
    );
    let (status, body) = stack
        .trigger_group(&net, "INC0013002", "Core switch down", "1", Some("Network"))
        .await;
    assert_eq!(
        (status, body["calling"].as_str()),
        (202, Some("Cara Diaz")),
        "{body}"
    );
    stack.settle(&[&db, &net], SETTLE).await;

    assert_eq!(dialled(&stack), [ANA, CARA]);
    let note = first_note(&stack, &db);
    assert!(
        note.contains(
            "Agents: Ana Ortiz (+1******0101); then escalation list: Ben Okafor (+1******0102)"
        ) && note.contains("Who to call: ServiceNow On-Call: group Database"),
        "{note}"
    );
    assert!(
        first_note(&stack, &net).contains("ServiceNow On-Call: group Network"),
        "{}",
        first_note(&stack, &net)
    );
    for (incident, user) in [(&db, "ana.ortiz"), (&net, "cara.diaz")] {
        assert_eq!(
            stack.sn.incident(incident).unwrap()["assigned_to"],
            user_sys_id(user),
            "the person On-Call named is the ServiceNow user assigned"
        );
    }
    assert_eq!(metrics.total(Metric::LineupFallbacks), 0.0);
    let asked: Vec<String> = stack
        .sn
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("/oncall"))
        .map(|r| r.query)
        .collect();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert!(asked[0].contains("group=Database"), "{asked:?}");
}

#[tokio::test]
async fn the_rotation_hand_off_and_an_override_change_who_is_called_next() {
    let (stack, _) = stack().await;
    stack
        .sn
        .set_rota(rota("Database", &["ana.ortiz", "ben.okafor"]));
    for number in [ANA, BEN, CARA] {
        stack.twilio.script(number, vec![press("1")]);
    }
    let (_, body) = stack
        .trigger_group(
            &sys_id(0x1311),
            "INC0013011",
            "Slow queries",
            "2",
            Some("Database"),
        )
        .await;
    assert_eq!(body["calling"], "Ana Ortiz");

    // An hour later the rota has handed off to Ben.
    stack.clock.set_ahead(HOUR);
    let (_, body) = stack
        .trigger_group(
            &sys_id(0x1312),
            "INC0013012",
            "Deadlocks",
            "2",
            Some("Database"),
        )
        .await;
    assert_eq!(body["calling"], "Ben Okafor");

    // Cara covers the shift by an override: she is called first, and the note says so.
    let now = support::now() + HOUR;
    stack.sn.set_override(
        "Database",
        &user_sys_id("cara.diaz"),
        now - 60_000,
        now + HOUR,
    );
    let third = sys_id(0x1313);
    let (_, body) = stack
        .trigger_group(&third, "INC0013013", "Disk full", "2", Some("Database"))
        .await;
    assert_eq!(body["calling"], "Cara Diaz");
    stack.settle(&[&third], SETTLE).await;
    let note = first_note(&stack, &third);
    assert!(note.contains("override: Cara Diaz"), "{note}");
}

/// Raise a Database incident while ServiceNow misbehaves as `fault` says; returns the
/// trigger's answer, how long it took and the started note.
async fn raise_with(stack: &Stack, n: u32, fault: Option<FaultRule>) -> (String, Duration, String) {
    stack.sn.clear_faults();
    stack.twilio.script(DAN, vec![press("1")]);
    if let Some(f) = fault {
        stack.sn.inject(f);
    }
    let id = sys_id(n);
    let started = Instant::now();
    let (status, body) = stack
        .trigger_group(
            &id,
            &format!("INC00{n:05}"),
            "Replica lag",
            "1",
            Some("Database"),
        )
        .await;
    let took = started.elapsed();
    assert_eq!(status, 202, "{body}");
    stack.sn.clear_faults();
    stack.settle(&[&id], SETTLE).await;
    (
        body["calling"].as_str().unwrap_or_default().to_owned(),
        took,
        first_note(stack, &id),
    )
}

fn on_oncall(status: u16) -> FaultRule {
    FaultRule {
        path_contains: Some("/oncall".into()),
        status,
        times: 100,
        ..FaultRule::default()
    }
}

#[tokio::test]
async fn on_call_slow_or_down_falls_back_to_the_stored_policy_within_the_budget_and_says_why() {
    let (stack, metrics) = stack().await;
    stack
        .sn
        .set_rota(rota("Database", &["ana.ortiz", "ben.okafor"]));

    let slow = FaultRule {
        delay_ms: 5_000,
        ..on_oncall(0)
    };
    let (calling, took, note) = raise_with(&stack, 0x1321, Some(slow)).await;
    assert_eq!(calling, "Dan Wu", "{note}");
    eprintln!("On-Call slow: the trigger answered in {took:?} (budget {BUDGET_MS} ms)");
    assert!(
        took < Duration::from_millis(BUDGET_MS + 1_500),
        "the trigger answered after {took:?}: On-Call's budget is {BUDGET_MS} ms"
    );
    assert!(
        note.contains(
            "Who to call: stored policies: policy Database; ServiceNow On-Call not used: timed out after 800 ms."
        ),
        "{note}"
    );

    let reasons = [
        (
            on_oncall(401),
            "ServiceNow refused the integration user (HTTP 401)",
        ),
        (
            on_oncall(403),
            "ServiceNow refused the integration user (HTTP 403)",
        ),
        (
            on_oncall(500),
            "ServiceNow answered with a server error (HTTP 500)",
        ),
        (
            FaultRule {
                html_body: true,
                ..on_oncall(200)
            },
            "ServiceNow answered with something that is not JSON",
        ),
    ];
    for (i, (fault, why)) in reasons.into_iter().enumerate() {
        let (calling, _, note) = raise_with(&stack, 0x1322 + i as u32, Some(fault)).await;
        assert_eq!(calling, "Dan Wu", "{note}");
        assert!(
            note.contains(&format!(
                "stored policies: policy Database; ServiceNow On-Call not used: {why}"
            )),
            "{note}"
        );
    }
    assert_eq!(metrics.total(Metric::LineupFallbacks), 5.0);
}

#[tokio::test]
async fn plans_that_cannot_be_called_fall_back_and_are_counted_a_group_without_on_call_is_not() {
    let (stack, metrics) = stack().await;
    // Nobody in the rota; a member ServiceNow does not know; a number that is not E.164.
    stack.sn.set_rota(rota("Database", &[]));
    let (calling, _, note) = raise_with(&stack, 0x1331, None).await;
    assert_eq!(calling, "Dan Wu");
    assert!(
        note.contains(
            "ServiceNow On-Call not used: nobody is on call for group Database at this time"
        ),
        "{note}"
    );

    stack
        .sn
        .set_rota(rota("Database", &["ana.ortiz", "ghost.user"]));
    let (calling, _, note) = raise_with(&stack, 0x1332, None).await;
    assert_eq!(calling, "Dan Wu");
    assert!(
        note.contains(
            "ServiceNow On-Call not used: escalatee 2 (no name) is not a ServiceNow user"
        ),
        "{note}"
    );

    stack.sn.add_user(
        &user_sys_id("eve.local"),
        "eve.local",
        "Eve Local",
        "(415) 555-0105",
    );
    stack
        .sn
        .set_rota(rota("Database", &["eve.local", "ana.ortiz"]));
    let (calling, _, note) = raise_with(&stack, 0x1333, None).await;
    assert_eq!(calling, "Dan Wu");
    assert!(
        note.contains(
            "ServiceNow On-Call not used: escalatee 1 (Eve Local) has no E.164 voice number"
        ) && !note.contains("555-0105"),
        "{note}"
    );
    assert_eq!(metrics.total(Metric::LineupFallbacks), 3.0);

    // Storage has no on-call schedule: the stored policy, no fallback counted.
    let id = sys_id(0x1334);
    stack.twilio.script(DAN, vec![press("1")]);
    let (_, body) = stack
        .trigger_group(&id, "INC0013034", "Array degraded", "1", Some("Storage"))
        .await;
    assert_eq!(body["calling"], "Dan Wu");
    stack.settle(&[&id], SETTLE).await;
    let note = first_note(&stack, &id);
    assert!(
        note.contains("stored policies: policy Storage; ServiceNow On-Call: group Storage has no on-call schedule"),
        "{note}"
    );
    assert_eq!(metrics.total(Metric::LineupFallbacks), 3.0);
}
