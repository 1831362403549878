//! The fake instance's data: the `incident` and `sys_user` tables, and the journal that
//! `work_notes` and `comments` writes append to (read back as `sys_journal_field`).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::util::{glide_datetime, hex32, now_ms};

pub(super) type Row = Map<String, Value>;

pub(super) const INCIDENT: &str = "incident";
pub(super) const SYS_USER: &str = "sys_user";
pub(super) const JOURNAL: &str = "sys_journal_field";

pub(super) struct JournalEntry {
    sys_id: String,
    element_id: String,
    element: String,
    value: String,
    created_ms: u64,
    created_by: String,
}

pub(super) struct Db {
    /// Rows of the writable tables, in insertion order.
    pub(super) tables: BTreeMap<&'static str, Vec<Row>>,
    journal: Vec<JournalEntry>,
    next_number: u32,
}

impl Default for Db {
    fn default() -> Self {
        let mut tables = BTreeMap::new();
        tables.insert(INCIDENT, Vec::new());
        tables.insert(SYS_USER, Vec::new());
        Self {
            tables,
            journal: Vec::new(),
            next_number: 10_001,
        }
    }
}

/// Which table a reference field points at.
pub(super) fn reference_table(table: &str, field: &str) -> Option<&'static str> {
    match (table, field) {
        (INCIDENT, "assigned_to" | "caller_id" | "opened_by" | "resolved_by" | "closed_by") => {
            Some(SYS_USER)
        }
        (INCIDENT, "assignment_group") => Some("sys_user_group"),
        (SYS_USER, "manager") => Some(SYS_USER),
        _ => None,
    }
}

pub(super) fn is_journal_field(table: &str, field: &str) -> bool {
    table == INCIDENT && matches!(field, "work_notes" | "comments")
}

/// Priority lookup rule (impact × urgency → priority), the default matrix.
fn priority_for(impact: &str, urgency: &str) -> Option<&'static str> {
    let i: u8 = impact.parse().ok()?;
    let u: u8 = urgency.parse().ok()?;
    match i + u {
        2 => Some("1"),
        3 => Some("2"),
        4 => Some("3"),
        5 => Some("4"),
        6 => Some("5"),
        _ => None,
    }
}

/// Inverse of [`priority_for`]: a plausible impact/urgency for a priority.
fn impact_urgency_for(priority: &str) -> (&'static str, &'static str) {
    match priority {
        "1" => ("1", "1"),
        "2" => ("1", "2"),
        "3" => ("2", "2"),
        "4" => ("2", "3"),
        _ => ("3", "3"),
    }
}

/// ServiceNow stores every scalar as a string.
pub(super) fn to_sn_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Object(o) => match o.get("value") {
            Some(inner) if !inner.is_object() => to_sn_string(inner),
            _ => v.to_string(),
        },
        Value::Array(_) => v.to_string(),
    }
}

pub(super) fn is_sys_id(s: &str) -> bool {
    s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit())
}

pub(super) fn str_field<'a>(row: &'a Row, field: &str) -> Option<&'a str> {
    row.get(field).and_then(Value::as_str)
}

impl Db {
    pub(super) fn rows(&self, table: &str) -> &[Row] {
        self.tables
            .get(table)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    pub(super) fn get(&self, table: &str, sys_id: &str) -> Option<&Row> {
        self.rows(table)
            .iter()
            .find(|r| str_field(r, "sys_id") == Some(sys_id))
    }

    pub(super) fn get_mut(&mut self, table: &str, sys_id: &str) -> Option<&mut Row> {
        self.tables
            .get_mut(table)?
            .iter_mut()
            .find(|r| str_field(r, "sys_id") == Some(sys_id))
    }

    pub(super) fn journal_values(&self, element_id: &str, element: &str) -> Vec<String> {
        self.journal
            .iter()
            .filter(|j| j.element_id == element_id && j.element == element)
            .map(|j| j.value.clone())
            .collect()
    }

    pub(super) fn next_incident_number(&mut self) -> String {
        let n = self.next_number;
        self.next_number += 1;
        format!("INC{n:07}")
    }

    /// A new row with the table's default fields.
    pub(super) fn defaults(&mut self, table: &str, sys_id: &str, actor: &str) -> Row {
        let now = glide_datetime(now_ms());
        let mut row = Row::new();
        let mut set = |k: &str, v: &str| {
            row.insert(k.to_owned(), Value::String(v.to_owned()));
        };
        set("sys_id", sys_id);
        set("sys_created_on", &now);
        set("sys_updated_on", &now);
        set("sys_created_by", actor);
        set("sys_updated_by", actor);
        set("sys_mod_count", "0");
        set("sys_class_name", table);
        if table == INCIDENT {
            for f in [
                "short_description",
                "description",
                "assigned_to",
                "assignment_group",
                "caller_id",
                "opened_by",
                "resolved_by",
                "closed_by",
                "close_code",
                "close_notes",
                "hold_reason",
                "correlation_id",
                "correlation_display",
                "work_notes",
                "comments",
            ] {
                set(f, "");
            }
            set("number", "");
            set("state", "1");
            set("incident_state", "1");
            set("impact", "3");
            set("urgency", "3");
            set("priority", "5");
            set("active", "true");
            set("opened_at", &now);
        } else if table == SYS_USER {
            for f in [
                "user_name",
                "name",
                "first_name",
                "last_name",
                "email",
                "phone",
                "mobile_phone",
                "manager",
                "title",
            ] {
                set(f, "");
            }
            set("active", "true");
        }
        row
    }

    /// Upsert used by the handle and the control routes.
    pub(super) fn seed(&mut self, table: &'static str, sys_id: &str, fields: Row) {
        let mut row = self.defaults(table, sys_id, "admin");
        if table == INCIDENT
            && let Some(p) = fields.get("priority").map(to_sn_string)
        {
            let (i, u) = impact_urgency_for(&p);
            row.insert("impact".into(), i.into());
            row.insert("urgency".into(), u.into());
        }
        for (k, v) in &fields {
            if k != "sys_id" && !is_journal_field(table, k) {
                row.insert(k.clone(), Value::String(to_sn_string(v)));
            }
        }
        if table == INCIDENT && str_field(&row, "number").is_none_or(str::is_empty) {
            let n = self.next_incident_number();
            row.insert("number".into(), n.into());
        } else if let Some(n) = str_field(&row, "number")
            .and_then(|n| n.strip_prefix("INC"))
            .and_then(|d| d.parse::<u32>().ok())
        {
            // Numbers stay unique, as on an instance: the next new incident gets a later one.
            self.next_number = self.next_number.max(n.saturating_add(1));
        }
        let rows = self.tables.entry(table).or_default();
        match rows
            .iter_mut()
            .find(|r| str_field(r, "sys_id") == Some(sys_id))
        {
            Some(existing) => *existing = row,
            None => rows.push(row),
        }
    }

    /// Upserts an incident (the handle's and the control route's seeding).
    pub(super) fn seed_incident(
        &mut self,
        sys_id: &str,
        number: Option<String>,
        short_description: &str,
        priority: Option<String>,
    ) {
        let mut fields = Row::new();
        if let Some(n) = number {
            fields.insert("number".into(), n.into());
        }
        fields.insert("short_description".into(), short_description.into());
        if let Some(p) = priority {
            fields.insert("priority".into(), p.into());
        }
        self.seed(INCIDENT, sys_id, fields);
    }

    /// Upserts a user; `phone` is stored verbatim in `phone` and `mobile_phone`.
    pub(super) fn seed_user(&mut self, sys_id: &str, user_name: &str, name: &str, phone: &str) {
        let mut fields = Row::new();
        fields.insert("user_name".into(), user_name.into());
        fields.insert("name".into(), name.into());
        fields.insert("email".into(), format!("{user_name}@example.com").into());
        fields.insert("phone".into(), phone.into());
        fields.insert("mobile_phone".into(), phone.into());
        self.seed(SYS_USER, sys_id, fields);
    }

    /// Resolves a reference given as a display value (`sysparm_input_display_value=true`).
    pub(super) fn resolve_display(&self, ref_table: &str, value: &str) -> String {
        if value.is_empty() || ref_table != SYS_USER {
            return value.to_owned();
        }
        if self.get(SYS_USER, value).is_some() {
            return value.to_owned();
        }
        self.rows(SYS_USER)
            .iter()
            .find(|r| str_field(r, "name") == Some(value))
            .and_then(|r| str_field(r, "sys_id"))
            .unwrap_or_default()
            .to_owned()
    }

    /// Applies a write body to the row `sys_id` of `table` (which must exist).
    pub(super) fn apply(
        &mut self,
        table: &str,
        sys_id: &str,
        body: &Row,
        input_display_value: bool,
        actor: &str,
    ) {
        let now = now_ms();
        let mut values: Vec<(String, String)> = Vec::new();
        let mut journal: Vec<(String, String)> = Vec::new();
        for (k, v) in body {
            if matches!(
                k.as_str(),
                "sys_id"
                    | "sys_created_on"
                    | "sys_created_by"
                    | "sys_updated_on"
                    | "sys_updated_by"
                    | "sys_mod_count"
                    | "sys_class_name"
            ) {
                continue;
            }
            let mut s = to_sn_string(v);
            if is_journal_field(table, k) {
                if !s.trim().is_empty() {
                    journal.push((k.clone(), s));
                }
                values.push((k.clone(), String::new()));
                continue;
            }
            if input_display_value && let Some(rt) = reference_table(table, k) {
                s = self.resolve_display(rt, &s);
            }
            values.push((k.clone(), s));
        }
        let recompute_priority = table == INCIDENT
            && !body.contains_key("priority")
            && (body.contains_key("impact") || body.contains_key("urgency"));
        for (element, value) in journal {
            self.journal.push(JournalEntry {
                sys_id: hex32(),
                element_id: sys_id.to_owned(),
                element,
                value,
                created_ms: now,
                created_by: actor.to_owned(),
            });
        }
        let Some(row) = self.get_mut(table, sys_id) else {
            return;
        };
        for (k, v) in values {
            row.insert(k, Value::String(v));
        }
        if recompute_priority {
            let p = priority_for(
                str_field(row, "impact").unwrap_or_default(),
                str_field(row, "urgency").unwrap_or_default(),
            );
            if let Some(p) = p {
                row.insert("priority".into(), p.into());
            }
        }
        let mods = str_field(row, "sys_mod_count")
            .and_then(|m| m.parse::<u64>().ok())
            .unwrap_or(0);
        row.insert("sys_mod_count".into(), (mods + 1).to_string().into());
        row.insert("sys_updated_on".into(), glide_datetime(now).into());
        row.insert("sys_updated_by".into(), actor.into());
    }

    /// `sys_journal_field` rows, derived from the journal.
    pub(super) fn journal_rows(&self) -> Vec<Row> {
        self.journal
            .iter()
            .map(|j| {
                let mut r = Row::new();
                r.insert("sys_id".into(), j.sys_id.clone().into());
                r.insert("name".into(), INCIDENT.into());
                r.insert("element".into(), j.element.clone().into());
                r.insert("element_id".into(), j.element_id.clone().into());
                r.insert("value".into(), j.value.clone().into());
                r.insert("sys_created_on".into(), glide_datetime(j.created_ms).into());
                r.insert("sys_created_by".into(), j.created_by.clone().into());
                r
            })
            .collect()
    }

    pub(super) fn table_rows(&self, table: &str) -> Vec<Row> {
        if table == JOURNAL {
            self.journal_rows()
        } else {
            self.rows(table).to_vec()
        }
    }
}
