//! The product's On-Call Scripted REST API (`GET /api/x_escalation/phone_escalation/oncall
//! ?group=…&at=yyyy-MM-dd HH:mm:ss`), answered from the fake's own rotas, as the script in
//! infra/servicenow/oncall_plan_api.js answers from ServiceNow's
//! `OnCallRotation.getEscalationPlan`.
//!
//! A rota belongs to a group (by name or sys_id) and puts its members on call in turn, one
//! shift each from `start_ms`; an override puts another user on call for a while. The plan
//! at an instant: the user on call (the override's, marked `is_override`) at level 1, then
//! the rota's other members in rotation order, one level each. Numbers come from the
//! user's `mobile_phone`, with spaces, dots, dashes and parentheses removed when it starts
//! with `+`. A user missing from `sys_user` is reported with an empty name and number.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::db::{Db, SYS_USER, str_field};

/// Where the update set installs the API.
pub const PATH: &str = "/api/x_escalation/phone_escalation/oncall";

/// One group's on-call rotation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Rota {
    /// The group's name ("Database").
    pub group: String,
    pub group_sys_id: Option<String>,
    pub name: String,
    /// sys_user sys_ids, in rotation order.
    pub members: Vec<String>,
    /// When `members[0]`'s shift starts (Unix ms); each shift lasts `shift_ms`.
    pub start_ms: u64,
    pub shift_ms: u64,
    pub overrides: Vec<Override>,
    /// Reported as each level's `time_to_next_step_secs`.
    pub time_to_next_step_secs: u64,
}

/// `user` is on call instead of the rotation's member from `from_ms` until `to_ms`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    pub user: String,
    pub from_ms: u64,
    pub to_ms: u64,
}

impl Rota {
    /// The users in call order at `at_ms`, each with whether an override put them there.
    fn lineup(&self, at_ms: u64) -> Vec<(String, bool)> {
        if self.members.is_empty() {
            return Vec::new();
        }
        let n = self.members.len() as i64;
        let shift = self.shift_ms.max(1) as i64;
        let idx = (at_ms as i64 - self.start_ms as i64)
            .div_euclid(shift)
            .rem_euclid(n) as usize;
        let mut out: Vec<(String, bool)> = Vec::new();
        if let Some(o) = self
            .overrides
            .iter()
            .find(|o| o.from_ms <= at_ms && at_ms < o.to_ms)
        {
            out.push((o.user.clone(), true));
        }
        for k in 0..self.members.len() {
            let m = &self.members[(idx + k) % self.members.len()];
            if !out.iter().any(|(u, _)| u == m) {
                out.push((m.clone(), false));
            }
        }
        out
    }
}

/// `yyyy-MM-dd HH:mm:ss` (UTC) as Unix ms.
fn parse_gdt(s: &str) -> Option<u64> {
    let at = jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", s.trim()).ok()?;
    let at = at.to_zoned(jiff::tz::TimeZone::UTC).ok()?;
    u64::try_from(at.timestamp().as_millisecond()).ok()
}

fn voice(raw: &str) -> String {
    if raw.trim_start().starts_with('+') {
        raw.chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
            .collect()
    } else {
        raw.to_owned()
    }
}

/// The API's answer: `Ok(result)` or `Err((status, message))`.
pub(super) fn plan(
    db: &Db,
    rotas: &[Rota],
    query: &[(String, String)],
) -> Result<Value, (u16, String)> {
    let get = |k: &str| {
        query
            .iter()
            .find(|(q, _)| q == k)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let group = get("group").ok_or((400, "group is required".to_owned()))?;
    let at_text = get("at").ok_or((400, "at is required".to_owned()))?;
    let at =
        parse_gdt(&at_text).ok_or((400, format!("at {at_text:?} is not yyyy-MM-dd HH:mm:ss")))?;
    let rota = rotas
        .iter()
        .find(|r| r.group == group || r.group_sys_id.as_deref() == Some(group.as_str()));
    let Some(rota) = rota else {
        return Ok(json!({"group": group, "group_sys_id": "", "at": at_text,
            "has_schedule": false, "escalatees": []}));
    };
    let escalatees: Vec<Value> = rota
        .lineup(at)
        .into_iter()
        .enumerate()
        .map(|(i, (user, is_override))| {
            let row = db.get(SYS_USER, &user);
            let field = |f: &str| row.and_then(|r| str_field(r, f)).unwrap_or_default();
            json!({
                "order": i + 1,
                "user_sys_id": user,
                "name": field("name"),
                "voice": voice(field("mobile_phone")),
                "time_to_next_step_secs": rota.time_to_next_step_secs,
                "is_override": is_override,
                "rota": rota.name,
            })
        })
        .collect();
    Ok(json!({
        "group": rota.group, "group_sys_id": rota.group_sys_id.clone().unwrap_or_default(),
        "at": at_text, "has_schedule": true, "escalatees": escalatees,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_read_as_utc() {
        assert_eq!(parse_gdt("1970-01-01 00:00:01"), Some(1000));
        assert_eq!(parse_gdt("2026-12-01 03:00:00"), Some(1_796_094_000_000));
        assert_eq!(parse_gdt("2026-13-01 03:00:00"), None);
    }

    #[test]
    fn the_rotation_hands_off_and_an_override_goes_first() {
        let rota = Rota {
            members: vec!["a".into(), "b".into(), "c".into()],
            start_ms: 1000,
            shift_ms: 100,
            overrides: vec![Override {
                user: "z".into(),
                from_ms: 1300,
                to_ms: 1350,
            }],
            ..Rota::default()
        };
        let users = |at| {
            rota.lineup(at)
                .into_iter()
                .map(|(u, o)| format!("{u}{}", if o { "!" } else { "" }))
                .collect::<Vec<_>>()
        };
        assert_eq!(users(1050), ["a", "b", "c"]);
        assert_eq!(users(1150), ["b", "c", "a"]);
        assert_eq!(users(1310), ["z!", "a", "b", "c"]);
        assert_eq!(users(950), ["c", "a", "b"]);
    }
}
