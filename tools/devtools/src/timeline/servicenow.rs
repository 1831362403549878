//! What ServiceNow received: the writes to an incident as the fake recorded them, shown as
//! one line each.

use escalation_fakes::servicenow::ServiceNowHandle;
use serde_json::{Value, json};

use super::{NOTE_WIDTH, elide, state_label};

/// One successful write to an incident, as the ServiceNow fake received it.
#[derive(Clone, Debug)]
pub struct SnWrite {
    pub body: Value,
}

impl SnWrite {
    /// The work note without the idempotency reference and the `[Phone escalation …]`
    /// prefix, on one line.
    pub fn note_text(&self) -> Option<String> {
        let note = self.body.get("work_notes")?.as_str()?;
        let text = note
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with("(ref "))
            .collect::<Vec<_>>()
            .join(" / ");
        let text = match text.strip_prefix('[').and_then(|t| t.split_once("] ")) {
            Some((_, rest)) => rest.to_string(),
            None => text,
        };
        Some(text)
    }

    pub(super) fn text(&self, sn: &ServiceNowHandle) -> String {
        let mut parts = Vec::new();
        if let Some(n) = self.note_text() {
            parts.push(format!("work note \"{}\"", elide(&n, NOTE_WIDTH)));
        }
        if let Some(s) = self.body.get("state").and_then(Value::as_str) {
            parts.push(format!("state={s} ({})", state_label(s)));
        }
        if let Some(u) = self.body.get("assigned_to").and_then(Value::as_str) {
            parts.push(format!("assigned_to={}", user_label(sn, u)));
        }
        if let Some(g) = self.body.get("assignment_group").and_then(Value::as_str) {
            parts.push(format!("assignment_group={g}"));
        }
        if parts.is_empty() {
            parts.push(self.body.to_string());
        }
        format!("ServiceNow ← {}", parts.join(" · "))
    }

    pub(super) fn json(&self) -> Value {
        json!({"written": self.body})
    }
}

/// The user's `user_name`, or the sys_id if the user is unknown.
fn user_label(sn: &ServiceNowHandle, sys_id: &str) -> String {
    sn.user(sys_id)
        .and_then(|u| {
            u.get("user_name")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| sys_id.to_string())
}

/// Successful PATCH/PUT requests to one incident, in arrival order.
pub fn sn_writes(sn: &ServiceNowHandle, sys_id: &str) -> Vec<SnWrite> {
    let suffix = format!("/incident/{sys_id}");
    sn.requests()
        .into_iter()
        .filter(|r| {
            matches!(r.method.as_str(), "PATCH" | "PUT")
                && r.path.ends_with(&suffix)
                && (200..300).contains(&r.status)
        })
        .map(|r| SnWrite {
            body: serde_json::from_str(&r.body).unwrap_or(Value::String(r.body)),
        })
        .collect()
}

/// The incident's state and assignee as ServiceNow has them now.
pub fn sn_incident(sn: &ServiceNowHandle, sys_id: &str) -> (String, Option<String>) {
    let row = sn.incident(sys_id).unwrap_or_default();
    let field = |k: &str| {
        row.get(k)
            .and_then(|v| {
                v.as_str()
                    .or_else(|| v.get("value").and_then(Value::as_str))
            })
            .unwrap_or_default()
            .to_string()
    };
    let assignee = Some(field("assigned_to"))
        .filter(|a| !a.is_empty())
        .map(|a| user_label(sn, &a));
    (field("state"), assignee)
}
