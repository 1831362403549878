//! The Programmable Voice Call resource (`/2010-04-01/Accounts/{AccountSid}/Calls…`):
//!
//! * `POST Calls.json` (form `To`, `From`, `Url`, optional `Method`, `Timeout`): 201 with the
//!   call resource (`sid` `CA…`, `status` `queued`, `direction` `outbound-api`), 400 with
//!   Twilio's error body when `To` (21201), `From` (21213) or `Url` (21205) is missing or not
//!   a phone number / http(s) URL. Placed calls are kept ([`PlacedCall`]); the test then
//!   plays the answered call by requesting its `Url` as Twilio would.
//! * `GET Calls.json` (filters `To`, `From`, `Status`; `PageSize`, `Page`), newest first,
//!   and `GET Calls/{CallSid}.json`: the placed calls and the calls Studio executions
//!   place. An execution's call is `ringing` while it is active and its person does not
//!   answer, `in-progress` while it is active and they answered (a person who answers
//!   picks up at once and acts after the step's `after_ms`), and as the call widget
//!   reports it once the execution ended.
//! * `POST Calls/{CallSid}.json` with `Status`: `completed` hangs up a queued, ringing or
//!   answered call, `canceled` only a queued or ringing one (an answered call is left
//!   running, as Twilio does); a call that already ended is answered as it is. Hanging up
//!   an execution's call ends the execution as Studio would (the call widget's `failed`
//!   with `CallStatus: canceled` for a ringing call, `completed` for an answered one) and
//!   emits its `step.ended` and `execution.ended` events before the answer. Every such
//!   request is recorded ([`HangUpRecord`]).
//!
//! Every route answers 404 with Twilio's error body for another account or an unknown call.

use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;

use super::agent::{CALL_WIDGET, Closing};
use super::errors::{invalid, not_found, twilio_error, unparsable_form};
use super::executions::{Execution, Status};
use super::{Inner, form, normalize_phone, param};
use crate::util::{self, Incoming, lock, now_ms};

/// A call created through the Calls API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacedCall {
    pub sid: String,
    pub to: String,
    pub from: String,
    /// Where Twilio fetches the call's TwiML when it is answered.
    pub url: String,
    pub method: String,
    pub timeout_secs: u32,
    /// `queued` until it is hung up.
    #[serde(default)]
    pub status: String,
}

/// A request to end a call (`POST Calls/{CallSid}.json` with `Status`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HangUpRecord {
    pub call_sid: String,
    /// The execution whose call it is (`None`: a call placed through the Calls API).
    pub execution_sid: Option<String>,
    pub to: String,
    /// The `Status` asked for: `completed` or `canceled`.
    pub requested: String,
    /// The call's status before, and after.
    pub was: String,
    pub now: String,
    pub at_ms: u64,
}

impl HangUpRecord {
    /// The request ended a call that was still queued, ringing or answered.
    pub fn ended_a_live_call(&self) -> bool {
        is_live(&self.was) && !is_live(&self.now)
    }
}

fn is_live(status: &str) -> bool {
    matches!(status, "queued" | "ringing" | "in-progress")
}

fn phone_like(s: &str) -> bool {
    s.len() > 2 && s.starts_with('+') && s[1..].bytes().all(|b| b.is_ascii_digit())
}

impl Execution {
    /// The status of the execution's call.
    pub(super) fn call_status(&self) -> String {
        if self.status == Status::Active {
            let answers = self.outcome.as_ref().is_some_and(|s| {
                !matches!(
                    s,
                    super::AgentStep::NoAnswer { .. }
                        | super::AgentStep::Busy { .. }
                        | super::AgentStep::Failed { .. }
                )
            });
            return if answers { "in-progress" } else { "ringing" }.to_owned();
        }
        self.widgets
            .as_ref()
            .and_then(|w| w.get(CALL_WIDGET))
            .and_then(|c| c.get("CallStatus"))
            .and_then(Value::as_str)
            .unwrap_or("completed")
            .to_owned()
    }
}

impl Inner {
    pub(super) async fn serve_calls(
        &self,
        inc: &Incoming,
        account: &str,
        call: Option<&str>,
    ) -> Response {
        if account != self.cfg.account_sid {
            return not_found(&inc.path);
        }
        match (inc.method.as_str(), call) {
            ("POST", None) => self.create_call(inc),
            ("GET", None) => self.list_calls(inc),
            (m, Some(file)) => match file.strip_suffix(".json") {
                Some(sid) if m == "GET" => self.fetch_call(inc, sid),
                Some(sid) if m == "POST" => self.update_call(inc, sid).await,
                Some(_) => twilio_error(405, 20004, "Method not allowed", &[]),
                None => not_found(&inc.path),
            },
            _ => twilio_error(405, 20004, "Method not allowed", &[]),
        }
    }

    fn call_resource(&self, sid: &str, to: &str, from: &str, status: &str) -> Value {
        let account = &self.cfg.account_sid;
        json!({
            "sid": sid,
            "account_sid": account,
            "to": to,
            "from": from,
            "status": status,
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "parent_call_sid": null,
            "uri": format!("/2010-04-01/Accounts/{account}/Calls/{sid}.json"),
        })
    }

    /// Every call, oldest first: (sid, to, from, status).
    fn all_calls(&self) -> Vec<(String, String, String, String)> {
        let mut all: Vec<_> = lock(&self.state)
            .executions
            .iter()
            .map(|e| {
                let status = e.call_status();
                (e.call_sid.clone(), e.to.clone(), e.from.clone(), status)
            })
            .collect();
        all.extend(lock(&self.calls).iter().map(|c| {
            (
                c.sid.clone(),
                c.to.clone(),
                c.from.clone(),
                c.status.clone(),
            )
        }));
        all
    }

    fn create_call(&self, inc: &Incoming) -> Response {
        let Some(pairs) = form(inc) else {
            return unparsable_form();
        };
        let to = param(&pairs, "To").unwrap_or_default();
        let from = param(&pairs, "From").unwrap_or_default();
        let url = param(&pairs, "Url").unwrap_or_default();
        if !phone_like(to) {
            return twilio_error(400, 21201, "No 'To' number is specified", &[]);
        }
        if !phone_like(from) {
            return twilio_error(400, 21213, "No 'From' number is specified", &[]);
        }
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return twilio_error(400, 21205, "Url is not a valid URL", &[]);
        }
        let timeout_secs = match param(&pairs, "Timeout").map(str::parse::<u32>) {
            None => 60,
            Some(Ok(t)) if (1..=600).contains(&t) => t,
            Some(_) => return invalid("Timeout must be between 1 and 600"),
        };
        let call = PlacedCall {
            sid: util::sid("CA"),
            to: to.to_owned(),
            from: from.to_owned(),
            url: url.to_owned(),
            method: param(&pairs, "Method").unwrap_or("POST").to_owned(),
            timeout_secs,
            status: "queued".to_owned(),
        };
        lock(&self.calls).push(call.clone());
        util::json(
            201,
            &self.call_resource(&call.sid, &call.to, &call.from, &call.status),
            &[],
        )
    }

    fn list_calls(&self, inc: &Incoming) -> Response {
        let q = inc.query_pairs();
        let (to, from, status) = (param(&q, "To"), param(&q, "From"), param(&q, "Status"));
        let same = |want: Option<&str>, have: &str| {
            want.is_none_or(|w| normalize_phone(w) == normalize_phone(have))
        };
        let calls: Vec<Value> = self
            .all_calls()
            .into_iter()
            .rev()
            .filter(|(_, t, f, s)| same(to, t) && same(from, f) && status.is_none_or(|x| x == s))
            .map(|(sid, t, f, s)| self.call_resource(&sid, &t, &f, &s))
            .collect();
        let (page_size, page) = super::paging::page_params(&q);
        let has_next = calls.len() > (page + 1) * page_size;
        let shown: Vec<Value> = calls
            .into_iter()
            .skip(page * page_size)
            .take(page_size)
            .collect();
        let uri = |p: usize| format!("{}?PageSize={page_size}&Page={p}", inc.path);
        util::json(
            200,
            &json!({
                "calls": shown,
                "page": page,
                "page_size": page_size,
                "start": page * page_size,
                "end": (page * page_size + shown.len()).saturating_sub(1),
                "uri": uri(page),
                "first_page_uri": uri(0),
                "next_page_uri": has_next.then(|| uri(page + 1)),
                "previous_page_uri": (page > 0).then(|| uri(page - 1)),
            }),
            &[],
        )
    }

    fn fetch_call(&self, inc: &Incoming, sid: &str) -> Response {
        match self.all_calls().into_iter().find(|c| c.0 == sid) {
            Some((sid, to, from, status)) => {
                util::json(200, &self.call_resource(&sid, &to, &from, &status), &[])
            }
            None => not_found(&inc.path),
        }
    }

    async fn update_call(&self, inc: &Incoming, sid: &str) -> Response {
        let Some(pairs) = form(inc) else {
            return unparsable_form();
        };
        let requested = match param(&pairs, "Status") {
            Some(s @ ("completed" | "canceled")) => s.to_owned(),
            Some(_) => return invalid("Status must be one of: canceled, completed"),
            None => return invalid("This fake changes a call's Status only"),
        };
        let (ack_tx, ack_rx) = oneshot::channel();
        let mut ack = Some(ack_tx);
        let record = {
            let mut st = lock(&self.state);
            match st.executions.iter().position(|e| e.call_sid == sid) {
                Some(i) => {
                    let (was, to, execution) = {
                        let e = &st.executions[i];
                        (e.call_status(), e.to.clone(), e.sid.clone())
                    };
                    let ends = is_live(&was) && (requested == "completed" || was != "in-progress");
                    if ends {
                        let how = self.hung_up(&st.executions[i], &was);
                        self.close(&mut st, &execution, how, ack.take());
                    }
                    let now = st.executions[i].call_status();
                    (was, now, to, Some(execution))
                }
                None => {
                    let mut calls = lock(&self.calls);
                    let Some(c) = calls.iter_mut().find(|c| c.sid == sid) else {
                        return not_found(&inc.path);
                    };
                    let was = c.status.clone();
                    let ends = is_live(&was) && (requested == "completed" || was != "in-progress");
                    if ends {
                        c.status = if was == "in-progress" {
                            "completed"
                        } else {
                            "canceled"
                        }
                        .to_owned();
                    }
                    (was, c.status.clone(), c.to.clone(), None)
                }
            }
        };
        let (was, now, to, execution_sid) = record;
        let (from, to_for_body) = self
            .all_calls()
            .into_iter()
            .find(|c| c.0 == sid)
            .map(|c| (c.2, c.1))
            .unwrap_or_default();
        lock(&self.hang_ups).push(HangUpRecord {
            call_sid: sid.to_owned(),
            execution_sid,
            to,
            requested,
            was,
            now: now.clone(),
            at_ms: now_ms(),
        });
        if ack.is_none() {
            // Deliver the ended event before answering, as a real sink would see it soon.
            let _ = ack_rx.await;
        }
        util::json(
            200,
            &self.call_resource(sid, &to_for_body, &from, &now),
            &[],
        )
    }

    /// How an execution ends when its call (`was`: ringing or in-progress) is hung up.
    fn hung_up(&self, e: &Execution, was: &str) -> Closing {
        let answered = was == "in-progress";
        let mut call = Map::new();
        call.insert("CallSid".into(), e.call_sid.clone().into());
        call.insert(
            "CallStatus".into(),
            if answered { "completed" } else { "canceled" }.into(),
        );
        call.insert("To".into(), e.to.clone().into());
        call.insert("From".into(), e.from.clone().into());
        let mut widgets = Map::new();
        widgets.insert(CALL_WIDGET.into(), Value::Object(call));
        Closing {
            widgets,
            variables: Map::new(),
            heard: Vec::new(),
            redirected_to: None,
            last: (
                CALL_WIDGET.into(),
                if answered { "answered" } else { "failed" }.into(),
                "make-outgoing-call-v2".into(),
            ),
            ended_by: "hangup",
        }
    }
}
