//! The Programmable Voice Calls resource, as far as the conference bridge uses it:
//! `POST /2010-04-01/Accounts/{AccountSid}/Calls.json` (form `To`, `From`, `Url`, optional
//! `Method`, `Timeout`, `StatusCallback`) answers 201 with the call resource (`sid` `CA…`,
//! `status` `queued`, `direction` `outbound-api`), 400 with Twilio's error body when `To`
//! (21201), `From` (21213) or `Url` (21205) is missing or not a phone number / http(s) URL,
//! 404 for another account. Placed calls are kept ([`PlacedCall`]); the test then plays
//! the answered call by requesting its `Url` as Twilio would. Conference participants are
//! what the TwiML of those calls joins: the bridge's status callbacks are sent by the test.

use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::errors::{invalid, not_found, twilio_error, unparsable_form};
use super::{Inner, form, param};
use crate::util::{self, Incoming, lock};

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
}

fn phone_like(s: &str) -> bool {
    s.len() > 2 && s.starts_with('+') && s[1..].bytes().all(|b| b.is_ascii_digit())
}

impl Inner {
    pub(super) fn create_call(&self, inc: &Incoming, account: &str) -> Response {
        if account != self.cfg.account_sid {
            return not_found(&inc.path);
        }
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
        };
        lock(&self.calls).push(call.clone());
        util::json(
            201,
            &json!({
                "sid": call.sid,
                "account_sid": self.cfg.account_sid,
                "to": call.to,
                "from": call.from,
                "status": "queued",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "uri": format!("/2010-04-01/Accounts/{}/Calls/{}.json", self.cfg.account_sid, call.sid),
            }),
            &[],
        )
    }
}
