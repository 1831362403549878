//! Fake of the ServiceNow REST Table API (ServiceNow's Table API docs; its exported OpenAPI
//! spec for the parameters).
//!
//! * Routes: `/api/now/table/{table}[/{sys_id}]`, also with `/api/now/v1/...` and
//!   `/api/now/v2/...`. Tables: `incident`, `sys_user` (read/write) and `sys_journal_field`
//!   (read-only, derived from journal writes).
//! * Basic auth, or OAuth client credentials once [`ServiceNowHandle::enable_oauth`] registered
//!   a client (see [`oauth`]); `Accept` must allow JSON; POST/PUT/PATCH need `Content-Type: application/json`.
//! * Every stored scalar is a string. Reference fields are rendered as
//!   `{"link","value"}` unless `sysparm_exclude_reference_link=true`;
//!   `sysparm_display_value=true|all` is honoured for reference fields.
//! * Writing `work_notes` / `comments` appends a journal entry; the row keeps `""`.
//! * Query parameters: `sysparm_query` (see [`query`]), `name=value` shorthand,
//!   `sysparm_fields` (with one level of dot-walk), `sysparm_limit`, `sysparm_offset`,
//!   `sysparm_no_count`, `sysparm_display_value`, `sysparm_exclude_reference_link`,
//!   `sysparm_input_display_value`; header `X-no-response-body: true`.
//! * Control routes (no auth, not recorded) under `/__fake/...`.

mod oauth;
mod query;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::fault::{FaultRule, FaultSet};
use crate::record::{RecordedRequest, Recorder};
use crate::util::{self, Incoming, glide_datetime, hex32, lock, now_ms};

use query::Query;

type Row = Map<String, Value>;

const INCIDENT: &str = "incident";
const SYS_USER: &str = "sys_user";
const JOURNAL: &str = "sys_journal_field";

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
            recorder: Recorder::default(),
            faults: FaultSet::default(),
            oauth: oauth::OAuth::default(),
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
        let mut fields = Row::new();
        fields.insert("number".into(), number.into());
        fields.insert("short_description".into(), short_description.into());
        fields.insert("priority".into(), priority.into());
        let mut db = lock(&self.inner.db);
        db.seed(INCIDENT, sys_id, fields);
    }

    /// Inserts (or replaces) a user. `phone` is stored verbatim (in `phone` and
    /// `mobile_phone`), e.g. formatted as `"+1 555 010 0001"` like ServiceNow's sample data.
    pub fn add_user(&self, sys_id: &str, user_name: &str, name: &str, phone: &str) {
        let mut fields = Row::new();
        fields.insert("user_name".into(), user_name.into());
        fields.insert("name".into(), name.into());
        fields.insert("email".into(), format!("{user_name}@example.com").into());
        fields.insert("phone".into(), phone.into());
        fields.insert("mobile_phone".into(), phone.into());
        let mut db = lock(&self.inner.db);
        db.seed(SYS_USER, sys_id, fields);
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

    /// Every request served on the API routes (not `/__fake`), in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.recorder.all()
    }

    /// Forgets recorded requests.
    pub fn clear_requests(&self) {
        self.inner.recorder.clear();
    }

    /// Adds a fault rule.
    pub fn inject(&self, rule: FaultRule) {
        self.inner.faults.add(rule);
    }

    /// Removes all fault rules.
    pub fn clear_faults(&self) {
        self.inner.faults.clear();
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

    /// Tokens issued by `/oauth_token.do` so far.
    pub fn tokens_issued(&self) -> usize {
        self.inner.oauth.issued()
    }
}

struct Inner {
    base_url: String,
    username: String,
    password: String,
    db: Mutex<Db>,
    recorder: Recorder,
    faults: FaultSet,
    oauth: oauth::OAuth,
}

struct JournalEntry {
    sys_id: String,
    element_id: String,
    element: String,
    value: String,
    created_ms: u64,
    created_by: String,
}

struct Db {
    /// Rows of the writable tables, in insertion order.
    tables: BTreeMap<&'static str, Vec<Row>>,
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
fn reference_table(table: &str, field: &str) -> Option<&'static str> {
    match (table, field) {
        (INCIDENT, "assigned_to" | "caller_id" | "opened_by" | "resolved_by" | "closed_by") => {
            Some(SYS_USER)
        }
        (INCIDENT, "assignment_group") => Some("sys_user_group"),
        (SYS_USER, "manager") => Some(SYS_USER),
        _ => None,
    }
}

fn is_journal_field(table: &str, field: &str) -> bool {
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
fn to_sn_string(v: &Value) -> String {
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

fn is_sys_id(s: &str) -> bool {
    s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit())
}

fn str_field<'a>(row: &'a Row, field: &str) -> Option<&'a str> {
    row.get(field).and_then(Value::as_str)
}

impl Db {
    fn rows(&self, table: &str) -> &[Row] {
        self.tables
            .get(table)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    fn get(&self, table: &str, sys_id: &str) -> Option<&Row> {
        self.rows(table)
            .iter()
            .find(|r| str_field(r, "sys_id") == Some(sys_id))
    }

    fn get_mut(&mut self, table: &str, sys_id: &str) -> Option<&mut Row> {
        self.tables
            .get_mut(table)?
            .iter_mut()
            .find(|r| str_field(r, "sys_id") == Some(sys_id))
    }

    fn journal_values(&self, element_id: &str, element: &str) -> Vec<String> {
        self.journal
            .iter()
            .filter(|j| j.element_id == element_id && j.element == element)
            .map(|j| j.value.clone())
            .collect()
    }

    fn next_incident_number(&mut self) -> String {
        let n = self.next_number;
        self.next_number += 1;
        format!("INC{n:07}")
    }

    /// A new row with the table's default fields.
    fn defaults(&mut self, table: &str, sys_id: &str, actor: &str) -> Row {
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
    fn seed(&mut self, table: &'static str, sys_id: &str, fields: Row) {
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

    /// Resolves a reference given as a display value (`sysparm_input_display_value=true`).
    fn resolve_display(&self, ref_table: &str, value: &str) -> String {
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
    fn apply(&mut self, table: &str, sys_id: &str, body: &Row, opts: &Opts, actor: &str) {
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
            if opts.input_display_value
                && let Some(rt) = reference_table(table, k)
            {
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
    fn journal_rows(&self) -> Vec<Row> {
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

    fn table_rows(&self, table: &str) -> Vec<Row> {
        if table == JOURNAL {
            self.journal_rows()
        } else {
            self.rows(table).to_vec()
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum DisplayValue {
    False,
    True,
    All,
}

/// Request options from `sysparm_*` parameters and headers.
struct Opts {
    fields: Option<Vec<String>>,
    display: DisplayValue,
    exclude_reference_link: bool,
    input_display_value: bool,
    query: Option<String>,
    filters: Vec<(String, String)>,
    limit: Option<usize>,
    offset: usize,
    no_count: bool,
    no_response_body: bool,
}

impl Opts {
    fn from(inc: &Incoming) -> Self {
        let mut o = Opts {
            fields: None,
            display: DisplayValue::False,
            exclude_reference_link: false,
            input_display_value: false,
            query: None,
            filters: Vec::new(),
            limit: None,
            offset: 0,
            no_count: false,
            no_response_body: inc
                .header("x-no-response-body")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
        };
        for (k, v) in inc.query_pairs() {
            match k.as_str() {
                "sysparm_fields" => {
                    let fields: Vec<String> = v
                        .split(',')
                        .map(|f| f.trim().to_owned())
                        .filter(|f| !f.is_empty())
                        .collect();
                    if !fields.is_empty() {
                        o.fields = Some(fields);
                    }
                }
                "sysparm_display_value" => {
                    o.display = match v.to_ascii_lowercase().as_str() {
                        "true" => DisplayValue::True,
                        "all" => DisplayValue::All,
                        _ => DisplayValue::False,
                    }
                }
                "sysparm_exclude_reference_link" => o.exclude_reference_link = v == "true",
                "sysparm_input_display_value" => o.input_display_value = v == "true",
                "sysparm_query" => o.query = Some(v),
                "sysparm_limit" => o.limit = v.parse().ok(),
                "sysparm_offset" => o.offset = v.parse().unwrap_or(0),
                "sysparm_no_count" => o.no_count = v == "true",
                _ if k.starts_with("sysparm_") => {}
                _ => o.filters.push((k, v)),
            }
        }
        o
    }
}

// ---------------------------------------------------------------------------------------------
// Error envelopes: `{"error":{"message","detail"},"status":"failure"}`

fn envelope(
    status: u16,
    message: &str,
    detail: Option<&str>,
    headers: &[(&str, String)],
) -> Response {
    util::json(
        status,
        &json!({"error": {"message": message, "detail": detail}, "status": "failure"}),
        headers,
    )
}

fn unauthorized() -> Response {
    envelope(
        401,
        "User Not Authenticated",
        Some("Required to provide Auth information"),
        &[],
    )
}

fn not_found() -> Response {
    envelope(
        404,
        "No Record found",
        Some("Record doesn't exist or ACL restricts the record retrieval"),
        &[],
    )
}

fn bad_request(message: &str, detail: Option<&str>) -> Response {
    envelope(400, message, detail, &[])
}

fn rate_limit_headers() -> Vec<(&'static str, String)> {
    vec![
        ("X-RateLimit-Limit", "100".to_owned()),
        ("X-RateLimit-Reset", (now_ms() / 1000 + 3600).to_string()),
        (
            "X-RateLimit-Rule",
            "d3b2a0e1c0a80164000fb0b05854a0cd".to_owned(),
        ),
    ]
}

/// The answer to an injected fault.
fn fault_response(rule: &FaultRule) -> Response {
    let mut headers: Vec<(&str, String)> = Vec::new();
    if let Some(secs) = rule.retry_after_secs {
        headers.push(("Retry-After", secs.to_string()));
    }
    if rule.status == 429 {
        headers.extend(rate_limit_headers());
    }
    if rule.html_body {
        return util::html(rule.status, "Instance Hibernating page", &headers);
    }
    let (message, detail): (&str, Option<&str>) = match rule.status {
        400 => ("Requested URI does not represent any resource", None),
        401 => (
            "User Not Authenticated",
            Some("Required to provide Auth information"),
        ),
        403 => (
            "Operation Failed",
            Some("ACL Exception Update Failed due to security constraints"),
        ),
        404 => (
            "No Record found",
            Some("Record doesn't exist or ACL restricts the record retrieval"),
        ),
        429 => (
            "Rate limit exceeded",
            Some("Rate limit of 100 requests per hour for Table API exceeded"),
        ),
        500 => ("Internal Server Error", None),
        502 => ("Bad Gateway", None),
        503 => ("Service Unavailable", None),
        504 => ("Gateway Timeout", None),
        _ => ("Operation Failed", None),
    };
    envelope(rule.status, message, detail, &headers)
}

// ---------------------------------------------------------------------------------------------
// Request handling

async fn handle(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let inc = Incoming::read(req).await;
    if inc.path == "/__fake" || inc.path.starts_with("/__fake/") {
        return control(&inner, &inc);
    }
    let resp = inner.serve(&inc).await;
    inner.recorder.push(inc.record(resp.status().as_u16()));
    resp
}

/// Does an `Accept` header allow a JSON answer?
fn accepts_json(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| {
        a.split(',').any(|part| {
            let media = part.split(';').next().unwrap_or_default().trim();
            media.eq_ignore_ascii_case("application/json")
                || media == "*/*"
                || media.eq_ignore_ascii_case("application/*")
        })
    })
}

fn is_json_content_type(ct: Option<&str>) -> bool {
    ct.and_then(|c| c.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

/// `(version, table, sys_id)` from `/api/now[/vN]/table/{table}[/{sys_id}]`.
fn parse_path(path: &str) -> Option<(Option<&str>, &str, Option<&str>)> {
    let rest = path.strip_prefix("/api/now/")?;
    let segs: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let (version, segs) = match segs.first().copied() {
        Some(v @ ("v1" | "v2")) => (Some(v), &segs[1..]),
        _ => (None, &segs[..]),
    };
    match segs {
        ["table", table] if !table.is_empty() => Some((version, table, None)),
        ["table", table, id] if !table.is_empty() && !id.is_empty() => {
            Some((version, table, Some(id)))
        }
        _ => None,
    }
}

impl Inner {
    async fn serve(&self, inc: &Incoming) -> Response {
        if let Some(rule) = self.faults.take(&inc.method, &inc.path) {
            if rule.delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(rule.delay_ms)).await;
            }
            if rule.status != 0 {
                return fault_response(&rule);
            }
        }
        if inc.path == "/oauth_token.do" {
            return self.oauth.token(inc);
        }
        let user = match util::basic_credentials(&inc.headers) {
            Some((u, p)) if u == self.username && p == self.password => u,
            _ if self.oauth.accepts(&inc.headers) => self.username.clone(),
            _ => return unauthorized(),
        };
        let Some((version, table, sys_id)) = parse_path(&inc.path) else {
            return bad_request("Requested URI does not represent any resource", None);
        };
        let method = inc.method.as_str();
        let writes = matches!(method, "POST" | "PUT" | "PATCH");
        if !accepts_json(inc.header("accept")) {
            return bad_request(
                "Invalid request",
                Some("The Accept header is missing or does not allow application/json"),
            );
        }
        if writes && !is_json_content_type(inc.header("content-type")) {
            return bad_request(
                "Invalid request",
                Some("POST, PUT and PATCH require Content-Type: application/json"),
            );
        }
        if ![INCIDENT, SYS_USER, JOURNAL].contains(&table) {
            return bad_request(&format!("Invalid table {table}"), None);
        }
        let opts = Opts::from(inc);
        match (method, sys_id) {
            ("GET", None) => self.list(version, table, &opts),
            ("GET", Some(id)) => self.get_one(table, id, &opts),
            ("POST", None) | ("PUT" | "PATCH", Some(_)) if table == JOURNAL => envelope(
                403,
                "Operation Failed",
                Some("ACL Exception Insert/Update Failed due to security constraints"),
                &[],
            ),
            ("DELETE", Some(_)) if table == JOURNAL => envelope(
                403,
                "Operation Failed",
                Some("ACL Exception Delete Failed due to security constraints"),
                &[],
            ),
            ("POST", None) => match parse_body(inc) {
                Some(body) => self.create(table, &body, &opts, &user),
                None => invalid_payload(),
            },
            ("PUT" | "PATCH", Some(id)) => match parse_body(inc) {
                Some(body) => self.update(table, id, &body, &opts, &user),
                None => invalid_payload(),
            },
            ("DELETE", Some(id)) => self.delete(table, id),
            _ => envelope(
                405,
                "Method not Supported",
                Some(&format!("{method} method not supported for API")),
                &[],
            ),
        }
    }

    /// Renders one stored value for output.
    fn render_value(&self, db: &Db, table: &str, field: &str, value: &str, opts: &Opts) -> Value {
        let Some(rt) = reference_table(table, field) else {
            return match opts.display {
                DisplayValue::All => json!({"display_value": value, "value": value}),
                _ => Value::String(value.to_owned()),
            };
        };
        let link = format!("{}/api/now/table/{rt}/{value}", self.base_url);
        let display = || -> String {
            if value.is_empty() {
                return String::new();
            }
            db.get(rt, value)
                .and_then(|r| str_field(r, "name"))
                .unwrap_or_default()
                .to_owned()
        };
        match opts.display {
            DisplayValue::False if value.is_empty() || opts.exclude_reference_link => {
                Value::String(value.to_owned())
            }
            DisplayValue::False => json!({"link": link, "value": value}),
            DisplayValue::True if value.is_empty() || opts.exclude_reference_link => {
                Value::String(display())
            }
            DisplayValue::True => json!({"display_value": display(), "link": link}),
            DisplayValue::All => {
                let mut m = Map::new();
                m.insert("display_value".into(), display().into());
                m.insert("value".into(), value.into());
                if !value.is_empty() && !opts.exclude_reference_link {
                    m.insert("link".into(), link.into());
                }
                Value::Object(m)
            }
        }
    }

    fn render(&self, db: &Db, table: &str, row: &Row, opts: &Opts) -> Value {
        let mut out = Map::new();
        let get = |f: &str| str_field(row, f).unwrap_or_default();
        match &opts.fields {
            None => {
                for (k, v) in row {
                    let s = v.as_str().unwrap_or_default();
                    out.insert(k.clone(), self.render_value(db, table, k, s, opts));
                }
            }
            Some(fields) => {
                for f in fields {
                    if row.contains_key(f) {
                        out.insert(f.clone(), self.render_value(db, table, f, get(f), opts));
                    } else if let Some((base, sub)) = f.split_once('.') {
                        // One level of dot-walk through a reference.
                        let Some(rt) = reference_table(table, base) else {
                            continue;
                        };
                        let target = db.get(rt, get(base));
                        let v = target.and_then(|r| str_field(r, sub)).unwrap_or_default();
                        out.insert(f.clone(), Value::String(v.to_owned()));
                    }
                }
            }
        }
        Value::Object(out)
    }

    fn list(&self, version: Option<&str>, table: &str, opts: &Opts) -> Response {
        let db = lock(&self.db);
        let rows = db.table_rows(table);
        let known: BTreeSet<String> = rows.iter().flat_map(|r| r.keys().cloned()).collect();
        let q = match &opts.query {
            Some(s) => Query::parse(s),
            None => Query::from_pairs(&opts.filters),
        };
        let mut hits: Vec<(usize, &Row)> = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| q.matches(&known, |f| str_field(r, f)))
            .collect();
        if q.has_order() {
            hits.sort_by(|(ia, a), (ib, b)| {
                let ga = |f: &str| str_field(a, f).unwrap_or_default().to_owned();
                let gb = |f: &str| str_field(b, f).unwrap_or_default().to_owned();
                q.compare((*ia, &ga), (*ib, &gb))
            });
        }
        let total = hits.len();
        let page: Vec<Value> = hits
            .into_iter()
            .skip(opts.offset)
            .take(opts.limit.unwrap_or(10_000))
            .map(|(_, r)| self.render(&db, table, r, opts))
            .collect();
        if page.is_empty() && version == Some("v1") {
            return not_found();
        }
        let mut headers = Vec::new();
        if !opts.no_count {
            headers.push(("X-Total-Count", total.to_string()));
        }
        util::json(200, &json!({ "result": page }), &headers)
    }

    fn get_one(&self, table: &str, id: &str, opts: &Opts) -> Response {
        let db = lock(&self.db);
        let rows = db.table_rows(table);
        match rows.iter().find(|r| str_field(r, "sys_id") == Some(id)) {
            Some(row) => util::json(
                200,
                &json!({"result": self.render(&db, table, row, opts)}),
                &[],
            ),
            None => not_found(),
        }
    }

    fn create(&self, table: &str, body: &Row, opts: &Opts, actor: &str) -> Response {
        let mut db = lock(&self.db);
        let requested = body.get("sys_id").map(to_sn_string);
        let sys_id = match requested {
            Some(id) if is_sys_id(&id) && db.get(table, &id).is_none() => id.to_ascii_lowercase(),
            _ => hex32(),
        };
        let mut row = db.defaults(table, &sys_id, actor);
        if table == INCIDENT && !body.contains_key("number") {
            let n = db.next_incident_number();
            row.insert("number".into(), n.into());
        }
        if let Some(rows) = db.tables.get_mut(table) {
            rows.push(row);
        }
        db.apply(table, &sys_id, body, opts, actor);
        // `apply` counts as an update; a fresh record starts at mod count 0.
        if let Some(row) = db.get_mut(table, &sys_id) {
            row.insert("sys_mod_count".into(), "0".into());
        }
        let location = format!("{}/api/now/table/{table}/{sys_id}", self.base_url);
        let headers = [("Location", location)];
        if opts.no_response_body {
            return util::response(201, None, "", &headers);
        }
        match db.get(table, &sys_id) {
            Some(row) => util::json(
                201,
                &json!({"result": self.render(&db, table, row, opts)}),
                &headers,
            ),
            None => not_found(),
        }
    }

    fn update(&self, table: &str, id: &str, body: &Row, opts: &Opts, actor: &str) -> Response {
        let mut db = lock(&self.db);
        if db.get(table, id).is_none() {
            return not_found();
        }
        db.apply(table, id, body, opts, actor);
        if opts.no_response_body {
            return util::response(200, None, "", &[]);
        }
        match db.get(table, id) {
            Some(row) => util::json(
                200,
                &json!({"result": self.render(&db, table, row, opts)}),
                &[],
            ),
            None => not_found(),
        }
    }

    fn delete(&self, table: &str, id: &str) -> Response {
        let mut db = lock(&self.db);
        let Some(rows) = db.tables.get_mut(table) else {
            return not_found();
        };
        let before = rows.len();
        rows.retain(|r| str_field(r, "sys_id") != Some(id));
        if rows.len() == before {
            return not_found();
        }
        util::response(204, None, "", &[])
    }
}

fn invalid_payload() -> Response {
    bad_request(
        "Exception while reading request",
        Some("The payload is not valid JSON."),
    )
}

/// A write body: a JSON object (or an array, of which only the first record is processed).
fn parse_body(inc: &Incoming) -> Option<Row> {
    if inc.body_unreadable {
        return None;
    }
    match serde_json::from_slice::<Value>(&inc.body).ok()? {
        Value::Object(m) => Some(m),
        Value::Array(items) => match items.into_iter().next()? {
            Value::Object(m) => Some(m),
            _ => None,
        },
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Control routes

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

fn control_error(status: u16, message: &str) -> Response {
    util::json(status, &json!({ "error": message }), &[])
}

fn control(inner: &Inner, inc: &Incoming) -> Response {
    let segs: Vec<&str> = inc.path.trim_end_matches('/').split('/').skip(2).collect();
    match (inc.method.as_str(), segs.as_slice()) {
        ("POST", ["incidents"]) => {
            let new: NewIncident = match serde_json::from_slice(&inc.body) {
                Ok(n) => n,
                Err(e) => return control_error(400, &format!("invalid incident: {e}")),
            };
            let sys_id = new.sys_id.unwrap_or_else(hex32);
            let mut fields = Row::new();
            if let Some(n) = new.number {
                fields.insert("number".into(), n.into());
            }
            fields.insert("short_description".into(), new.short_description.into());
            if let Some(p) = &new.priority {
                fields.insert("priority".into(), to_sn_string(p).into());
            }
            let mut db = lock(&inner.db);
            db.seed(INCIDENT, &sys_id, fields);
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
            let new: NewUser = match serde_json::from_slice(&inc.body) {
                Ok(n) => n,
                Err(e) => return control_error(400, &format!("invalid user: {e}")),
            };
            let sys_id = new.sys_id.unwrap_or_else(hex32);
            let mut fields = Row::new();
            fields.insert(
                "email".into(),
                format!("{}@example.com", new.user_name).into(),
            );
            fields.insert("user_name".into(), new.user_name.into());
            fields.insert("name".into(), new.name.into());
            fields.insert("phone".into(), new.phone.clone().into());
            fields.insert("mobile_phone".into(), new.phone.into());
            let mut db = lock(&inner.db);
            db.seed(SYS_USER, &sys_id, fields);
            let row = db.get(SYS_USER, &sys_id).cloned();
            util::json(201, &json!({ "user": row }), &[])
        }
        ("GET", ["requests"]) => util::json(200, &json!(inner.recorder.all()), &[]),
        ("DELETE", ["requests"]) => {
            inner.recorder.clear();
            util::response(204, None, "", &[])
        }
        ("POST", ["faults"]) => match serde_json::from_slice::<FaultRule>(&inc.body) {
            Ok(rule) => {
                inner.faults.add(rule.clone());
                util::json(201, &json!(rule), &[])
            }
            Err(e) => control_error(400, &format!("invalid fault rule: {e}")),
        },
        ("DELETE", ["faults"]) => {
            inner.faults.clear();
            util::response(204, None, "", &[])
        }
        _ => control_error(404, "unknown control route"),
    }
}
