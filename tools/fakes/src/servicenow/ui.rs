//! A person changing an incident in the instance's UI, and what the rule "Cancel phone
//! escalation" (infra/servicenow/cancel_phone_escalation_br.js) sends to the trigger about
//! it. The decision mirrors the rule's script; the harness in tools/admin runs the script
//! itself.

use serde_json::{Value, json};

use super::db::{Db, INCIDENT, Row, str_field};
use crate::util::hex32;

/// The cancel rule as installed: which priorities escalate and who the integration user is
/// (its own writes never cancel).
#[derive(Clone, Debug)]
pub(super) struct CancelRule {
    pub(super) priorities: Vec<String>,
    pub(super) integration_user: String,
}

/// Incident states a person ends an incident with, and the reason the rule sends.
fn ending_state(state: &str) -> Option<&'static str> {
    match state {
        "6" => Some("resolved"),
        "7" => Some("closed"),
        "8" => Some("canceled"),
        _ => None,
    }
}

/// The body the rule sends (unsigned) for a change from `before` to `after` by `user`.
pub(super) fn cancel_body(
    rule: &CancelRule,
    before: &Row,
    after: &Row,
    user: &str,
    user_name: &str,
) -> Option<Value> {
    if user == rule.integration_user {
        return None;
    }
    let field = |row: &Row, f: &str| str_field(row, f).unwrap_or_default().to_owned();
    let escalates = |p: &str| rule.priorities.iter().any(|x| x == p);
    let (p0, p1) = (field(before, "priority"), field(after, "priority"));
    if !escalates(&p0) && !escalates(&p1) {
        return None;
    }
    let changed = |f: &str| field(before, f) != field(after, f);
    let (reason, detail) = if changed("state")
        && let Some(reason) = ending_state(&field(after, "state"))
    {
        (reason, None)
    } else if changed("assigned_to") && !field(after, "assigned_to").is_empty() {
        ("assigned", Some(field(after, "assigned_to_name")))
    } else if changed("priority") && escalates(&p0) && !escalates(&p1) {
        ("priority_lowered", Some(p1))
    } else {
        return None;
    };
    Some(json!({
        "type": "cancel",
        "sys_id": field(after, "sys_id"),
        "number": field(after, "number"),
        "reason": reason,
        "detail": detail.filter(|d| !d.is_empty()),
        "by": user_name,
        "event_id": hex32(),
    }))
}

impl Db {
    /// Writes `fields` to incident `sys_id` as `user` saving the form; returns the row
    /// before and after (None: no such incident).
    pub(super) fn ui_write(
        &mut self,
        sys_id: &str,
        fields: &Row,
        user: &str,
    ) -> Option<(Row, Row)> {
        let before = self.get(INCIDENT, sys_id)?.clone();
        self.apply(INCIDENT, sys_id, fields, true, user);
        let mut after = self.get(INCIDENT, sys_id)?.clone();
        if let Some(to) = str_field(&after, "assigned_to").map(str::to_owned) {
            let name = self
                .get(super::db::SYS_USER, &to)
                .and_then(|u| str_field(u, "name"))
                .unwrap_or_default()
                .to_owned();
            after.insert("assigned_to_name".into(), name.into());
        }
        Some((before, after))
    }
}
