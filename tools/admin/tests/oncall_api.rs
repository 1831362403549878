//! infra/servicenow/oncall_plan_api.js, the On-Call plan Scripted REST resource, run under
//! node with stand-ins for OnCallRotation, the contact preferences and GlideRecord
//! (support/oncall_api_harness.js): its answer is what the trigger's On-Call source reads,
//! and bad requests get ServiceNow's error envelope.

use escalation_adapters::servicenow::oncall::parse_plan;
use escalation_core::oncall::roster;
use serde_json::{Value, json};
use std::process::Command;

#[path = "support/repo.rs"]
mod repo;
use repo::repo;

const GROUP: &str = "287ebd7da9fe198100f92cc8d1d2154e";
const ANA: &str = "a1000000000000000000000000000001";
const BEN: &str = "b2000000000000000000000000000002";

fn run(config: &Value) -> Value {
    let output = Command::new("node")
        .arg(repo("tools/admin/tests/support/oncall_api_harness.js"))
        .arg(repo("infra/servicenow/oncall_plan_api.js"))
        .arg(config.to_string())
        .output()
        .unwrap_or_else(|e| panic!("could not run `node` ({e}): install Node.js"));
    assert!(
        output.status.success(),
        "the API script failed under node:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the harness prints JSON")
}

fn instance(query: Value) -> Value {
    json!({
        "query": query,
        "tables": {
            "sys_user_group": [{"sys_id": GROUP, "name": "Database"}],
            "sys_user": [
                {"sys_id": ANA, "name": "Ana Ortiz", "mobile_phone": "+1 415 555 0101"},
                {"sys_id": BEN, "name": "Ben Okafor", "mobile_phone": "+14155550199"}
            ],
            "cmn_rota": [{"sys_id": "r1", "group": GROUP, "active": "true"}]
        },
        "plan": [
            {"order": 1, "userId": ANA, "isDevice": false, "isOverride": false, "timeToNextStep": 900000, "rotaId": "r1"},
            {"order": 2, "userId": BEN, "isDevice": false, "isOverride": true, "rotaId": "r1"},
            {"order": 3, "deviceId": "d1", "isDevice": true}
        ],
        "contacts": {BEN: [{"type": "user", "contact_preferences": [
            {"type": "sms", "number": "+15550000000"},
            {"type": "voice", "number": "+1 (415) 555-0102"}
        ]}]}
    })
}

#[test]
fn the_api_answers_the_escalation_plan_the_trigger_calls() {
    let out = run(&instance(
        json!({"group": "Database", "at": "2026-12-01 03:00:00"}),
    ));
    assert_eq!(out["status"], 200, "{out}");
    assert_eq!(
        out["plan_args"],
        json!([GROUP, "2026-12-01 03:00:00"]),
        "getEscalationPlan gets the group's sys_id and the instant in UTC"
    );
    let plan = parse_plan(&out["body"]).expect("the trigger reads the answer");
    let r = roster(&plan).expect("a plan the trigger calls");
    assert_eq!(r.agents[0].name, "Ana Ortiz");
    assert_eq!(r.agents[0].phone.as_str(), "+14155550101", "spaces removed");
    assert_eq!(r.agents[0].sn_user.as_deref(), Some(ANA));
    assert_eq!(r.escalation[0].name, "Ben Okafor");
    assert_eq!(
        r.escalation[0].phone.as_str(),
        "+14155550102",
        "the voice contact preference wins over the user's mobile phone"
    );
    assert_eq!(
        r.agents.len() + r.escalation.len(),
        2,
        "devices are left out"
    );
    assert!(
        r.source
            .as_deref()
            .unwrap()
            .contains("override: Ben Okafor"),
        "{:?}",
        r.source
    );
}

#[test]
fn a_group_without_a_schedule_and_bad_requests_are_told_apart() {
    let mut no_rota = instance(json!({"group": GROUP, "at": "2026-12-01 03:00:00"}));
    no_rota["tables"]["cmn_rota"] = json!([]);
    let out = run(&no_rota);
    let plan = parse_plan(&out["body"]).unwrap();
    assert!(!plan.has_schedule && plan.escalatees.is_empty(), "{out}");
    assert_eq!(out["plan_args"], Value::Null, "no plan asked for");

    let out = run(&instance(
        json!({"group": "Database", "at": "2026-12-01T03:00Z"}),
    ));
    assert_eq!(out["status"], 400);
    assert_eq!(
        out["error"]["message"],
        "at must be yyyy-MM-dd HH:mm:ss (UTC)"
    );
    let out = run(&instance(json!({"at": "2026-12-01 03:00:00"})));
    assert_eq!(out["status"], 400);
    assert_eq!(out["error"]["message"], "group is required");
}
