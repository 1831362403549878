//! Fake of the ServiceNow REST Table API, answering as a real instance does.
//!
//! * Routes: `/api/now/table/{table}[/{sys_id}]`, also with `/api/now/v1/...` and
//!   `/api/now/v2/...`. Tables: `incident`, `sys_user` (read/write) and `sys_journal_field`
//!   (read-only, derived from journal writes).
//! * Basic auth, or OAuth client credentials once [`ServiceNowHandle::enable_oauth`]
//!   registered a client (see `oauth`); `Accept` must allow JSON; POST/PUT/PATCH need
//!   `Content-Type: application/json`.
//! * Every stored scalar is a string. Reference fields are rendered as
//!   `{"link","value"}` unless `sysparm_exclude_reference_link=true`;
//!   `sysparm_display_value=true|all` is honoured for reference fields.
//! * Writing `work_notes` / `comments` appends a journal entry; the row keeps `""`.
//! * Query parameters: `sysparm_query` (see [`query`]), `name=value` shorthand,
//!   `sysparm_fields` (with one level of dot-walk), `sysparm_limit`, `sysparm_offset`,
//!   `sysparm_no_count`, `sysparm_display_value`, `sysparm_exclude_reference_link`,
//!   `sysparm_input_display_value`; header `X-no-response-body: true`.
//! * The product's On-Call Scripted REST API (`oncall`), answered from rotas set per test
//!   ([`ServiceNowHandle::set_rota`], or `POST /__fake/oncall/rotas`).
//! * Control routes (no auth, not recorded) under `/__fake/...`.
//!
//! `db`: the tables and the journal; `table_api`: the REST routes; `errors`: the error
//! envelopes; `control`: the control routes; `query`: encoded queries; `oauth`: the token
//! endpoint.

mod control;
mod db;
mod errors;
mod oauth;
pub mod oncall;
mod query;
mod table_api;
mod ui;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::{Map, Value};

use crate::traffic::{Traffic, is_control, traffic_controls};
use crate::util::{self, Incoming, lock};

use db::{Db, INCIDENT, SYS_USER};

/// Entry point: `ServiceNowFake::start(user, pass).await`.
pub struct ServiceNowFake;

impl ServiceNowFake {
    /// Starts the fake on `127.0.0.1:<random port>` in a background tokio task.
    pub async fn start(username: &str, password: &str) -> ServiceNowHandle {
        Self::start_on(util::any_local_port(), username, password).await
    }

    /// Starts the fake on `addr` in a background tokio task. Panics if `addr` cannot be bound.
    pub async fn start_on(addr: SocketAddr, username: &str, password: &str) -> ServiceNowHandle {
        let (listener, base_url) = util::bind(addr).await;
        let inner = Arc::new(Inner {
            base_url,
            username: username.to_owned(),
            password: password.to_owned(),
            db: Mutex::new(Db::default()),
            traffic: Traffic::default(),
            oauth: oauth::OAuth::default(),
            cancel_rule: Mutex::new(None),
            rotas: Mutex::new(Vec::new()),
        });
        let router = Router::new().fallback(handle).with_state(inner.clone());
        util::spawn_server(listener, router);
        ServiceNowHandle { inner }
    }
}

/// Control handle of a running ServiceNow fake. Cheap to clone.
#[derive(Clone)]
pub struct ServiceNowHandle {
    inner: Arc<Inner>,
}

impl ServiceNowHandle {
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        self.inner.base_url.clone()
    }

    /// Inserts (or replaces) an incident with the usual default fields.
    pub fn add_incident(
        &self,
        sys_id: &str,
        number: &str,
        short_description: &str,
        priority: &str,
    ) {
        lock(&self.inner.db).seed_incident(
            sys_id,
            Some(number.to_owned()),
            short_description,
            Some(priority.to_owned()),
        );
    }

    /// Inserts (or replaces) a user. `phone` is stored verbatim (in `phone` and
    /// `mobile_phone`), e.g. formatted as `"+1 555 010 0001"` like ServiceNow's sample data.
    pub fn add_user(&self, sys_id: &str, user_name: &str, name: &str, phone: &str) {
        lock(&self.inner.db).seed_user(sys_id, user_name, name, phone);
    }

    /// The stored incident row (every value a string), if any.
    pub fn incident(&self, sys_id: &str) -> Option<Map<String, Value>> {
        lock(&self.inner.db).get(INCIDENT, sys_id).cloned()
    }

    /// The incidents whose `field` is `value` (e.g. `correlation_id`), oldest first.
    pub fn incidents_where(&self, field: &str, value: &str) -> Vec<Map<String, Value>> {
        lock(&self.inner.db)
            .rows(INCIDENT)
            .iter()
            .filter(|r| r.get(field).and_then(Value::as_str) == Some(value))
            .cloned()
            .collect()
    }

    /// The stored user row, if any.
    pub fn user(&self, sys_id: &str) -> Option<Map<String, Value>> {
        lock(&self.inner.db).get(SYS_USER, sys_id).cloned()
    }

    /// `work_notes` journal entries of an incident, oldest first.
    pub fn work_notes(&self, sys_id: &str) -> Vec<String> {
        lock(&self.inner.db).journal_values(sys_id, "work_notes")
    }

    /// `comments` journal entries of an incident, oldest first.
    pub fn comments(&self, sys_id: &str) -> Vec<String> {
        lock(&self.inner.db).journal_values(sys_id, "comments")
    }

    /// Registers an OAuth client for the client-credentials grant at `/oauth_token.do`; its
    /// tokens live `lifetime_secs` (ServiceNow's default is 1800). Basic auth keeps working.
    pub fn enable_oauth(&self, client_id: &str, client_secret: &str, lifetime_secs: u64) {
        self.inner
            .oauth
            .register(client_id, client_secret, lifetime_secs);
    }

    /// Ends every token issued so far (the next call with one answers 401).
    pub fn expire_tokens(&self) {
        self.inner.oauth.expire_all();
    }

    /// Installs the rule "Cancel phone escalation": from now on a change from the UI
    /// ([`ServiceNowHandle::change_from_ui`]) that assigns, resolves, closes, cancels or
    /// lowers an incident of one of `priorities` below them, by anyone but
    /// `integration_user`, makes the rule send a cancel.
    pub fn install_cancel_rule(&self, priorities: &[&str], integration_user: &str) {
        *lock(&self.inner.cancel_rule) = Some(ui::CancelRule {
            priorities: priorities.iter().map(|p| p.to_string()).collect(),
            integration_user: integration_user.to_owned(),
        });
    }

    /// `user` (a user_name) saves incident `sys_id` with `fields` in the UI (references by
    /// sys_id or display name, as the form sends them). Returns the JSON body the cancel
    /// rule sends to the trigger, if the rule is installed and the change is one it acts
    /// on; unsigned: the caller signs it with the shared key as the instance does.
    pub fn change_from_ui(&self, sys_id: &str, fields: &Value, user: &str) -> Option<Value> {
        let fields = fields.as_object().cloned().unwrap_or_default();
        let mut db = lock(&self.inner.db);
        let (before, after) = db.ui_write(sys_id, &fields, user)?;
        let rule = lock(&self.inner.cancel_rule).clone()?;
        let user_name = db
            .rows(SYS_USER)
            .iter()
            .find(|u| u.get("user_name").and_then(Value::as_str) == Some(user))
            .and_then(|u| u.get("name").and_then(Value::as_str))
            .unwrap_or(user)
            .to_owned();
        ui::cancel_body(&rule, &before, &after, user, &user_name)
    }

    /// Sets the On-Call rota of `rota.group` (replacing the group's earlier one).
    pub fn set_rota(&self, rota: oncall::Rota) {
        let mut rotas = lock(&self.inner.rotas);
        rotas.retain(|r| r.group != rota.group);
        rotas.push(rota);
    }

    /// `user` (a sys_id) is on call for `group` instead of its rota from `from_ms` to `to_ms`.
    pub fn set_override(&self, group: &str, user: &str, from_ms: u64, to_ms: u64) {
        for r in lock(&self.inner.rotas)
            .iter_mut()
            .filter(|r| r.group == group)
        {
            r.overrides.push(oncall::Override {
                user: user.to_owned(),
                from_ms,
                to_ms,
            });
        }
    }

    /// Tokens issued by `/oauth_token.do` so far.
    pub fn tokens_issued(&self) -> usize {
        self.inner.oauth.issued()
    }
}

traffic_controls!(ServiceNowHandle);

struct Inner {
    base_url: String,
    username: String,
    password: String,
    db: Mutex<Db>,
    traffic: Traffic,
    oauth: oauth::OAuth,
    cancel_rule: Mutex<Option<ui::CancelRule>>,
    rotas: Mutex<Vec<oncall::Rota>>,
}

// ---------------------------------------------------------------------------------------------
// Request handling

async fn handle(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let inc = Incoming::read(req).await;
    if is_control(&inc.path) {
        return control::control(&inner, &inc);
    }
    let resp = inner.serve(&inc).await;
    inner.traffic.record(&inc, &resp);
    resp
}
