//! Control routes (no auth, not recorded) under `/__fake/...`: seed and read incidents and
//! users, read and clear the recorded requests, add and clear faults.

use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Inner;
use super::db::{INCIDENT, SYS_USER, to_sn_string};
use crate::traffic::{control_body, control_error, control_segments};
use crate::util::{self, Incoming, hex32, lock};

#[derive(Deserialize)]
struct NewIncident {
    #[serde(default)]
    sys_id: Option<String>,
    #[serde(default)]
    number: Option<String>,
    #[serde(default)]
    short_description: String,
    #[serde(default)]
    priority: Option<Value>,
}

#[derive(Deserialize)]
struct NewUser {
    #[serde(default)]
    sys_id: Option<String>,
    #[serde(default)]
    user_name: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
}

pub(super) fn control(inner: &Inner, inc: &Incoming) -> Response {
    let segs = control_segments(&inc.path);
    if let Some(resp) = inner.traffic.control(inc, &segs) {
        return resp;
    }
    match (inc.method.as_str(), segs.as_slice()) {
        ("POST", ["incidents"]) => {
            let new: NewIncident = match control_body(inc, "incident") {
                Ok(n) => n,
                Err(resp) => return *resp,
            };
            let sys_id = new.sys_id.unwrap_or_else(hex32);
            let mut db = lock(&inner.db);
            db.seed_incident(
                &sys_id,
                new.number,
                &new.short_description,
                new.priority.as_ref().map(to_sn_string),
            );
            let row = db.get(INCIDENT, &sys_id).cloned();
            util::json(201, &json!({ "incident": row }), &[])
        }
        ("GET", ["incidents"]) => {
            let db = lock(&inner.db);
            util::json(200, &json!({ "incidents": db.rows(INCIDENT) }), &[])
        }
        ("GET", ["incidents", id]) => {
            let db = lock(&inner.db);
            match db.get(INCIDENT, id) {
                Some(row) => util::json(
                    200,
                    &json!({
                        "incident": row,
                        "work_notes": db.journal_values(id, "work_notes"),
                        "comments": db.journal_values(id, "comments"),
                    }),
                    &[],
                ),
                None => control_error(404, "no such incident"),
            }
        }
        ("POST", ["users"]) => {
            let new: NewUser = match control_body(inc, "user") {
                Ok(n) => n,
                Err(resp) => return *resp,
            };
            let sys_id = new.sys_id.unwrap_or_else(hex32);
            let mut db = lock(&inner.db);
            db.seed_user(&sys_id, &new.user_name, &new.name, &new.phone);
            let row = db.get(SYS_USER, &sys_id).cloned();
            util::json(201, &json!({ "user": row }), &[])
        }
        ("POST", ["oncall", "rotas"]) => {
            let rota: super::oncall::Rota = match control_body(inc, "rota") {
                Ok(r) => r,
                Err(resp) => return *resp,
            };
            let mut rotas = lock(&inner.rotas);
            rotas.retain(|r| r.group != rota.group);
            rotas.push(rota);
            util::json(201, &json!({ "rotas": *rotas }), &[])
        }
        _ => control_error(404, "unknown control route"),
    }
}
