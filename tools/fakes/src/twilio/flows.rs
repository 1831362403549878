//! Studio v2 Flows on the Twilio fake, as Twilio's Studio v2 API has them:
//!
//! * `POST /v2/Flows` (form `FriendlyName`, `Status` `draft|published`, `Definition` as a JSON
//!   string, `CommitMessage`) → 201 with revision 1;
//! * `GET /v2/Flows` (paged, key `flows`, `definition`/`valid`/`errors`/`warnings` null as in
//!   Twilio's API reference example);
//! * `GET /v2/Flows/{FW}`; `POST /v2/Flows/{FW}` (full replace, `Status` required) → 200 with
//!   the revision + 1; `DELETE /v2/Flows/{FW}` → 204;
//! * `POST /v2/Flows/Validate` (same form as create) → 200 `{"valid": true}`, or 400 with
//!   `details.errors[{property_path, message}]` for the structural errors the fake checks:
//!   a definition that is not a JSON object, missing `initial_state`/`states`, states without a
//!   name or with duplicate names, unknown widget types, not exactly one `trigger`,
//!   transitions without an event or pointing to an unknown state, an `initial_state` that
//!   names no state. Create and update refuse such a definition the same way.
//!
//! The flow the executions routes serve (`TwilioFakeConfig::flow_sid`) is separate: flows
//! created here have their own SIDs and start no calls. [`TwilioHandle::install_flow`] gives
//! that flow a definition its executions follow.

use std::sync::Mutex;

use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Inner, TwilioHandle, form, invalid, not_found, param, twilio_error, unparsable_form};
use crate::util::{self, Incoming, iso_seconds, lock, now_ms, sid};

pub use super::flow_check::{WIDGET_TYPES, definition_errors};

/// A flow as seen by tests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlowRecord {
    pub sid: String,
    pub friendly_name: String,
    pub definition: Value,
    /// `"draft"` or `"published"`.
    pub status: String,
    pub revision: u64,
    pub commit_message: Option<String>,
}

/// The flows of one fake.
#[derive(Default)]
pub(super) struct Flows {
    flows: Mutex<Vec<Flow>>,
}

struct Flow {
    record: FlowRecord,
    author_sid: String,
    created_ms: u64,
    updated_ms: u64,
}

impl TwilioHandle {
    /// Gives the flow the executions routes serve (`TwilioFakeConfig::flow_sid`) this
    /// definition, as if it had been published: its executions then follow it, widget by
    /// widget. Without one, they follow the flow the product ships
    /// (`infra/twilio/escalation-flow.json`).
    pub fn install_flow(&self, definition: Value) {
        let now = now_ms();
        let flow_sid = self.inner.cfg.flow_sid.clone();
        let mut flows = lock(&self.inner.flows.flows);
        flows.retain(|f| f.record.sid != flow_sid);
        flows.push(Flow {
            record: FlowRecord {
                sid: flow_sid,
                friendly_name: "installed".into(),
                definition,
                status: "published".into(),
                revision: 1,
                commit_message: None,
            },
            author_sid: sid("US"),
            created_ms: now,
            updated_ms: now,
        });
    }

    /// Every Studio flow created through `POST /v2/Flows` (or installed), oldest first.
    pub fn flows(&self) -> Vec<FlowRecord> {
        lock(&self.inner.flows.flows)
            .iter()
            .map(|f| f.record.clone())
            .collect()
    }
}

/// The flow the product ships.
pub fn shipped_flow() -> Value {
    serde_json::from_str(include_str!(
        "../../../../infra/twilio/escalation-flow.json"
    ))
    .expect("infra/twilio/escalation-flow.json is JSON")
}

/// The 400 answer to an invalid definition.
fn invalid_definition(errors: &[(String, String)]) -> Response {
    let list: Vec<Value> = errors
        .iter()
        .map(|(path, message)| json!({"message": message, "property_path": path}))
        .collect();
    util::json(
        400,
        &json!({
            "code": 20001,
            "message": "Invalid Flow Definition",
            "more_info": "https://www.twilio.com/docs/errors/20001",
            "status": 400,
            "details": {"errors": list, "warnings": []},
        }),
        &[],
    )
}

/// Parses `Definition` (a JSON string) and checks it; `Err` is the answer to send.
fn parse_definition(raw: &str) -> Result<Value, Box<Response>> {
    let definition: Value = serde_json::from_str(raw).map_err(|e| {
        invalid_definition(&[("#".to_owned(), format!("Definition is not valid JSON: {e}"))])
    })?;
    let errors = definition_errors(&definition);
    if errors.is_empty() {
        Ok(definition)
    } else {
        Err(Box::new(invalid_definition(&errors)))
    }
}

fn status_param(pairs: &[(String, String)]) -> Result<&str, Box<Response>> {
    match param(pairs, "Status") {
        None => Err(Box::new(invalid(
            "Missing required parameter Status in the post body",
        ))),
        Some(s @ ("draft" | "published")) => Ok(s),
        Some(_) => Err(Box::new(invalid("Status must be one of: draft, published"))),
    }
}

/// `FriendlyName`, `Status`, parsed `Definition` of a create or validate request.
fn create_params(pairs: &[(String, String)]) -> Result<(String, String, Value), Box<Response>> {
    let name = match param(pairs, "FriendlyName") {
        Some(n) if !n.trim().is_empty() => n.to_owned(),
        _ => {
            return Err(Box::new(invalid(
                "Missing required parameter FriendlyName in the post body",
            )));
        }
    };
    let status = status_param(pairs)?.to_owned();
    let Some(raw) = param(pairs, "Definition") else {
        return Err(Box::new(invalid(
            "Missing required parameter Definition in the post body",
        )));
    };
    Ok((name, status, parse_definition(raw)?))
}

impl Inner {
    /// The definition the executions follow: the installed one (see
    /// [`TwilioHandle::install_flow`]), else the flow the product ships.
    pub(super) fn flow_definition(&self) -> Value {
        lock(&self.flows.flows)
            .iter()
            .find(|f| f.record.sid == self.cfg.flow_sid)
            .map(|f| f.record.definition.clone())
            .unwrap_or_else(shipped_flow)
    }

    /// Routes under `/v2/Flows` other than an existing flow's executions. `rest` is the path
    /// after `/v2/Flows`.
    pub(super) fn serve_flows(&self, inc: &Incoming, rest: &[&str]) -> Response {
        match (inc.method.as_str(), rest) {
            ("POST", []) => self.create_flow(inc),
            ("GET", []) => self.list_flows(inc),
            ("POST", ["Validate"]) => self.validate_flow(inc),
            ("GET", [fw]) => self.with_flow(fw, &inc.path, |inner, f| {
                util::json(200, &inner.flow_resource(f, true), &[])
            }),
            ("POST", [fw]) => self.update_flow(inc, fw),
            ("DELETE", [fw]) => {
                let mut flows = lock(&self.flows.flows);
                let before = flows.len();
                flows.retain(|f| f.record.sid != *fw);
                if flows.len() == before {
                    not_found(&inc.path)
                } else {
                    util::response(204, None, "", &[])
                }
            }
            (_, [] | ["Validate"] | [_]) => twilio_error(405, 20004, "Method not allowed", &[]),
            _ => not_found(&inc.path),
        }
    }

    fn with_flow(
        &self,
        fw: &str,
        path: &str,
        f: impl FnOnce(&Self, &Flow) -> Response,
    ) -> Response {
        let flows = lock(&self.flows.flows);
        match flows.iter().find(|x| x.record.sid == fw) {
            Some(flow) => f(self, flow),
            None => not_found(path),
        }
    }

    fn flow_url(&self, fw: &str) -> String {
        format!("{}/v2/Flows/{fw}", self.base_url)
    }

    /// The `studio.v2.flow` resource; list entries carry no definition and null validity.
    fn flow_resource(&self, f: &Flow, full: bool) -> Value {
        let r = &f.record;
        let url = self.flow_url(&r.sid);
        let (definition, valid, errors) = if full {
            (r.definition.clone(), json!(true), json!([]))
        } else {
            (Value::Null, Value::Null, Value::Null)
        };
        json!({
            "sid": r.sid,
            "account_sid": self.cfg.account_sid,
            "author_sid": f.author_sid,
            "friendly_name": r.friendly_name,
            "definition": definition,
            "status": r.status,
            "revision": r.revision,
            "commit_message": r.commit_message,
            "valid": valid,
            "errors": errors,
            "warnings": errors,
            "webhook_url": format!("{}/v1/Accounts/{}/Flows/{}", self.base_url, self.cfg.account_sid, r.sid),
            "date_created": iso_seconds(f.created_ms),
            "date_updated": iso_seconds(f.updated_ms),
            "url": url,
            "links": {
                "test_users": format!("{url}/TestUsers"),
                "revisions": format!("{url}/Revisions"),
                "executions": format!("{url}/Executions"),
            },
        })
    }

    fn create_flow(&self, inc: &Incoming) -> Response {
        let Some(pairs) = form(inc) else {
            return unparsable_form();
        };
        let (friendly_name, status, definition) = match create_params(&pairs) {
            Ok(p) => p,
            Err(resp) => return *resp,
        };
        let now = now_ms();
        let flow = Flow {
            record: FlowRecord {
                sid: sid("FW"),
                friendly_name,
                definition,
                status,
                revision: 1,
                commit_message: param(&pairs, "CommitMessage").map(str::to_owned),
            },
            author_sid: sid("US"),
            created_ms: now,
            updated_ms: now,
        };
        let body = self.flow_resource(&flow, true);
        lock(&self.flows.flows).push(flow);
        util::json(201, &body, &[])
    }

    fn list_flows(&self, inc: &Incoming) -> Response {
        let items: Vec<Value> = lock(&self.flows.flows)
            .iter()
            .map(|f| self.flow_resource(f, false))
            .collect();
        util::json(
            200,
            &super::paging::page(&self.base_url, inc, "flows", items, &[]),
            &[],
        )
    }

    fn validate_flow(&self, inc: &Incoming) -> Response {
        let Some(pairs) = form(inc) else {
            return unparsable_form();
        };
        match create_params(&pairs) {
            Ok(_) => util::json(200, &json!({"valid": true}), &[]),
            Err(resp) => *resp,
        }
    }

    fn update_flow(&self, inc: &Incoming, fw: &str) -> Response {
        let Some(pairs) = form(inc) else {
            return unparsable_form();
        };
        let status = match status_param(&pairs) {
            Ok(s) => s.to_owned(),
            Err(resp) => return *resp,
        };
        let definition = match param(&pairs, "Definition").map(parse_definition) {
            None => None,
            Some(Ok(d)) => Some(d),
            Some(Err(resp)) => return *resp,
        };
        let mut flows = lock(&self.flows.flows);
        let Some(flow) = flows.iter_mut().find(|f| f.record.sid == fw) else {
            return not_found(&inc.path);
        };
        let r = &mut flow.record;
        r.status = status;
        if let Some(name) = param(&pairs, "FriendlyName").filter(|n| !n.trim().is_empty()) {
            r.friendly_name = name.to_owned();
        }
        if let Some(d) = definition {
            r.definition = d;
        }
        r.commit_message = param(&pairs, "CommitMessage").map(str::to_owned);
        r.revision += 1;
        flow.updated_ms = now_ms();
        util::json(200, &self.flow_resource(flow, true), &[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_projects_flow_is_valid() {
        assert_eq!(definition_errors(&shipped_flow()), vec![]);
    }

    #[test]
    fn structural_errors_name_the_property() {
        let def = json!({
            "initial_state": "Start",
            "states": [
                {"name": "Trigger", "type": "trigger",
                 "transitions": [{"event": "incomingRequest", "next": "nowhere"}]},
                {"name": "x", "type": "make-coffee", "transitions": []},
            ],
        });
        let paths: Vec<String> = definition_errors(&def).into_iter().map(|e| e.0).collect();
        assert_eq!(
            paths,
            vec![
                "#/states/0/transitions/0/next",
                "#/states/1/type",
                "#/initial_state"
            ]
        );
        assert_eq!(
            definition_errors(&json!({"states": []})),
            vec![
                (
                    "#".to_owned(),
                    "Missing required property: initial_state".to_owned()
                ),
                (
                    "#/states".to_owned(),
                    "states must be an array of 1 to 1000 states".to_owned()
                ),
            ]
        );
    }
}
