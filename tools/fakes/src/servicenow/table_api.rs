//! The Table API routes: list, read, create, update and delete rows, rendered with the
//! `sysparm_*` options a client asked for.

use std::collections::BTreeSet;

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::Inner;
use super::db::{
    Db, INCIDENT, JOURNAL, Row, SYS_USER, is_sys_id, reference_table, str_field, to_sn_string,
};
use super::errors::{
    bad_request, envelope, fault_response, invalid_payload, not_found, unauthorized,
};
use super::query::Query;
use crate::util::{self, Incoming, hex32, lock};

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
    pub(super) async fn serve(&self, inc: &Incoming) -> Response {
        match self.traffic.fault(inc).await {
            Some(rule) if rule.after_write => {
                let _carried_out = self.serve_api(inc);
                fault_response(&rule)
            }
            Some(rule) => fault_response(&rule),
            None => self.serve_api(inc),
        }
    }

    fn serve_api(&self, inc: &Incoming) -> Response {
        if inc.path == "/oauth_token.do" {
            return self.oauth.token(inc);
        }
        let user = match util::basic_credentials(&inc.headers) {
            Some((u, p)) if u == self.username && p == self.password => u,
            _ if self.oauth.accepts(&inc.headers) => self.username.clone(),
            _ => return unauthorized(),
        };
        if inc.path.trim_end_matches('/') == super::oncall::PATH {
            if inc.method != "GET" {
                return envelope(405, "Method not Supported", None, &[]);
            }
            let db = lock(&self.db);
            return match super::oncall::plan(&db, &lock(&self.rotas), &inc.query_pairs()) {
                Ok(result) => util::json(200, &json!({ "result": result }), &[]),
                Err((status, message)) => envelope(status, &message, None, &[]),
            };
        }
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
        db.apply(table, &sys_id, body, opts.input_display_value, actor);
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
        db.apply(table, id, body, opts.input_display_value, actor);
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
