//! infra/servicenow/phone_escalation_update_set.xml, the update set an admin imports: it
//! holds every record the ServiceNow side needs, its scripts are byte for byte the files the
//! signature test runs under node, and it is what make_update_set.py writes.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

type Fields = BTreeMap<String, String>;

#[path = "support/repo.rs"]
mod repo;
use repo::{read, repo};

/// (table, fields) of every record in the update set, plus the update set's own fields.
fn records(xml: &str) -> (Fields, Vec<(String, Fields)>) {
    let doc = roxmltree::Document::parse(xml).expect("the update set is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "unload");
    let children = |n: roxmltree::Node| -> Fields {
        n.children()
            .filter(|c| c.is_element())
            .map(|c| {
                (
                    c.tag_name().name().to_owned(),
                    c.text().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };
    let set = root
        .children()
        .find(|n| n.has_tag_name("sys_remote_update_set"))
        .map(children)
        .expect("a sys_remote_update_set");
    let mut out = Vec::new();
    for update in root.children().filter(|n| n.has_tag_name("sys_update_xml")) {
        let f = children(update);
        assert_eq!(f["remote_update_set"], set["sys_id"], "{}", f["name"]);
        let payload = roxmltree::Document::parse(&f["payload"])
            .unwrap_or_else(|e| panic!("payload of {} is not XML: {e}", f["name"]));
        let top = payload.root_element();
        assert_eq!(top.tag_name().name(), "record_update");
        let table = top
            .attribute("table")
            .expect("record_update table")
            .to_owned();
        let rec = top
            .children()
            .find(|n| n.has_tag_name(table.as_str()))
            .unwrap_or_else(|| panic!("payload of {} has no <{table}>", f["name"]));
        let fields = children(rec);
        assert_eq!(f["name"], format!("{table}_{}", fields["sys_id"]));
        out.push((table, fields));
    }
    (set, out)
}

fn find<'a>(recs: &'a [(String, Fields)], table: &str, key: &str, value: &str) -> &'a Fields {
    let hits: Vec<&Fields> = recs
        .iter()
        .filter(|(t, f)| t == table && f.get(key).map(String::as_str) == Some(value))
        .map(|(_, f)| f)
        .collect();
    assert_eq!(hits.len(), 1, "exactly one {table} with {key}={value}");
    hits[0]
}

#[test]
fn the_update_set_holds_every_record_the_servicenow_side_needs() {
    let (set, recs) = records(&read("infra/servicenow/phone_escalation_update_set.xml"));
    assert_eq!(set["name"], "Phone escalation 1.0");
    assert_eq!(set["state"], "loaded");

    // The business rule: an after rule on insert and update whose condition sees the change.
    let br = find(&recs, "sys_script", "name", "Start phone escalation");
    assert_eq!(br["collection"], "incident");
    assert_eq!(br["when"], "after");
    assert_eq!(
        (br["action_insert"].as_str(), br["action_update"].as_str()),
        ("true", "true")
    );
    assert_eq!(
        (br["action_delete"].as_str(), br["action_query"].as_str()),
        ("false", "false")
    );
    assert_eq!(br["condition"], "current.priority.changes()");
    assert_eq!(br["active"], "true");
    let br_script = read("infra/servicenow/start_phone_escalation_br.js");
    assert_eq!(
        br["script"], br_script,
        "the rule's script is the file the tests run"
    );

    // The event it queues is registered, and the script action listens to it.
    let event = "x_escalation.escalate";
    assert!(br_script.contains(&format!("gs.eventQueue('{event}'")));
    assert_eq!(
        find(&recs, "sysevent_register", "event_name", event)["table"],
        "incident"
    );
    let action = find(&recs, "sysevent_script_action", "event_name", event);
    assert_eq!(action["active"], "true");
    let script = read("infra/servicenow/escalation_trigger.js");
    assert_eq!(
        action["script"], script,
        "the script action is byte for byte escalation_trigger.js"
    );

    // The cancel: an after-update rule on state, assignee and priority, its event, and the
    // script action that tells the trigger, each byte for byte the files the tests run.
    let cancel = find(&recs, "sys_script", "name", "Cancel phone escalation");
    assert_eq!(
        (
            cancel["when"].as_str(),
            cancel["action_update"].as_str(),
            cancel["action_insert"].as_str()
        ),
        ("after", "true", "false")
    );
    assert_eq!(
        cancel["condition"],
        "current.state.changes() || current.assigned_to.changes() || current.priority.changes()"
    );
    assert_eq!(
        cancel["script"],
        read("infra/servicenow/cancel_phone_escalation_br.js")
    );
    assert_eq!(
        find(
            &recs,
            "sysevent_register",
            "event_name",
            "x_escalation.cancel"
        )["table"],
        "incident"
    );
    assert_eq!(
        find(
            &recs,
            "sysevent_script_action",
            "event_name",
            "x_escalation.cancel"
        )["script"],
        read("infra/servicenow/cancel_trigger.js")
    );

    // The heartbeat: a scheduled job every 15 minutes, byte for byte heartbeat.js.
    let heartbeat = find(
        &recs,
        "sysauto_script",
        "name",
        "Phone escalation: heartbeat",
    );
    assert_eq!(heartbeat["active"], "true");
    assert_eq!(heartbeat["run_type"], "periodically");
    assert_eq!(heartbeat["run_period"], "1970-01-01 00:15:00");
    assert_eq!(
        heartbeat["script"],
        read("infra/servicenow/heartbeat.js"),
        "the job is byte for byte heartbeat.js"
    );

    // Every property the script reads is in the set, with its type; the key stays private.
    let props: BTreeMap<&str, &Fields> = recs
        .iter()
        .filter(|(t, _)| t == "sys_properties")
        .map(|(_, f)| (f["name"].as_str(), f))
        .collect();
    let scripts = [
        script.clone(),
        read("infra/servicenow/cancel_phone_escalation_br.js"),
        read("infra/servicenow/cancel_trigger.js"),
    ]
    .concat();
    let read_by_script: BTreeSet<String> = scripts
        .match_indices("PREFIX + '")
        // LOG_PREFIX is the log lines' prefix, not the properties'.
        .filter(|(i, _)| !scripts[..*i].ends_with("LOG_"))
        .chain(scripts.match_indices("listProperty('"))
        .map(|(i, m)| {
            let name: String = scripts[i + m.len()..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_' || c.is_ascii_digit())
                .collect();
            format!("x_escalation.{name}")
        })
        .collect();
    assert_eq!(
        read_by_script,
        props.keys().map(|k| k.to_string()).collect::<BTreeSet<_>>(),
        "the properties the scripts read are exactly the ones the update set makes"
    );
    assert_eq!(props["x_escalation.hmac_key_b64"]["type"], "password2");
    assert_eq!(props["x_escalation.hmac_key_b64"]["is_private"], "true");
    assert_eq!(
        props["x_escalation.hmac_key_b64"]["value"], "",
        "no key ships"
    );
    assert_eq!(props["x_escalation.priorities"]["value"], "1,2");
    for name in ["trigger_url", "groups_include", "groups_exclude"] {
        assert_eq!(
            props[format!("x_escalation.{name}").as_str()]["type"],
            "string"
        );
    }

    // The REST message the script names, with its method.
    let rest = find(
        &recs,
        "sys_rest_message",
        "name",
        "Phone escalation trigger",
    );
    let send = find(&recs, "sys_rest_message_fn", "function_name", "Send");
    assert_eq!(send["rest_message"], rest["sys_id"]);
    assert_eq!(send["http_method"], "post");
    let include = find(&recs, "sys_script_include", "name", "phoneEscalationPost");
    let include_script = read("infra/servicenow/phone_escalation_post.js");
    assert!(include_script.contains("REST_MESSAGE = 'Phone escalation trigger'"));
    assert!(include_script.contains("REST_METHOD = 'Send'"));

    // The Script Include both scripts sign and send with: global, server-side only, byte for
    // byte phone_escalation_post.js.
    assert_eq!(include["api_name"], "global.phoneEscalationPost");
    assert_eq!(include["active"], "true");
    assert_eq!(include["client_callable"], "false");
    assert_eq!(
        include["script"], include_script,
        "the Script Include is byte for byte phone_escalation_post.js"
    );
    assert!(include_script.contains("function phoneEscalationPost("));
    for sender in [&script, &heartbeat["script"]] {
        assert!(sender.contains("phoneEscalationPost(endpoint, keyB64, body, "));
    }

    // The integration user's role and exactly the ACLs the Lambdas need.
    let role = find(&recs, "sys_user_role", "name", "x_escalation.integration");
    let acls: BTreeMap<&str, (&str, &str)> = recs
        .iter()
        .filter(|(t, _)| t == "sys_security_acl")
        .map(|(_, f)| {
            (
                f["sys_id"].as_str(),
                (f["name"].as_str(), f["operation"].as_str()),
            )
        })
        .collect();
    let granted: BTreeSet<(&str, &str)> = recs
        .iter()
        .filter(|(t, f)| t == "sys_security_acl_role" && f["sys_user_role"] == role["sys_id"])
        .map(|(_, f)| acls[f["sys_security_acl"].as_str()])
        .collect();
    let needed: BTreeSet<(&str, &str)> = [
        ("incident", "read"),
        ("incident", "write"),
        ("incident", "create"),
        ("sys_user", "read"),
        ("sys_journal_field", "read"),
        ("/api/x_escalation/phone_escalation/oncall", "execute"),
    ]
    .into();
    assert_eq!(granted, needed);
    assert_eq!(acls.len(), needed.len(), "no ACL without the role");

    // The On-Call plan API: a Scripted REST API whose one resource is byte for byte
    // oncall_plan_api.js, at the path the trigger asks by default, behind the role's ACL.
    let api = find(&recs, "sys_ws_definition", "name", "Phone escalation");
    assert_eq!(api["base_uri"], "/api/x_escalation/phone_escalation");
    let resource = find(&recs, "sys_ws_operation", "name", "On-Call plan");
    assert_eq!(resource["web_service_definition"], api["sys_id"]);
    assert_eq!(resource["http_method"], "GET");
    assert_eq!(
        resource["operation_uri"],
        escalation_adapters::servicenow::oncall::DEFAULT_PATH
    );
    assert_eq!(resource["requires_authentication"], "true");
    let acl = find(
        &recs,
        "sys_security_acl",
        "name",
        "/api/x_escalation/phone_escalation/oncall",
    );
    assert_eq!(resource["enforce_acl"], acl["sys_id"]);
    let api_script = read("infra/servicenow/oncall_plan_api.js");
    assert_eq!(
        resource["operation_script"], api_script,
        "the resource is byte for byte oncall_plan_api.js"
    );
    for call in [
        "new OnCallRotation().getEscalationPlan(",
        "getContactsAtByEscalatee(",
    ] {
        assert!(api_script.contains(call), "the API uses {call}");
    }
}

#[test]
fn the_update_set_is_what_make_update_set_py_writes() {
    let out = std::env::temp_dir().join(format!("update-set-{}.xml", std::process::id()));
    let status = Command::new("python3")
        .arg(repo("infra/servicenow/make_update_set.py"))
        .arg(&out)
        .output()
        .expect("python3 runs");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let fresh = std::fs::read_to_string(&out).expect("written");
    let _ = std::fs::remove_file(&out);
    assert!(
        fresh == read("infra/servicenow/phone_escalation_update_set.xml"),
        "infra/servicenow/phone_escalation_update_set.xml is stale: run \
         python3 infra/servicenow/make_update_set.py"
    );
}
