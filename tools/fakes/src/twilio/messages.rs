//! The Messages API (`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form `To`,
//! `From`, `Body`), as Twilio answers it: 201 with the message resource (`sid` `SM…`,
//! `status` `queued`), 400 with Twilio's codes for a missing or invalid field (21604 no
//! `To`, 21211 invalid `To`, 21602 no `Body`, 21603 no `From`, 21617 body over 1600
//! characters), 404 for another account, 405 for other methods. Faults (429, 5xx) come from
//! the traffic rules like on every route. Every message accepted is recorded.

use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Inner, form, not_found, param, twilio_error, unparsable_form};
use crate::util::{self, Incoming, iso_seconds, lock, now_ms, sid};

/// A text the fake accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    pub sid: String,
    pub to: String,
    pub from: String,
    pub body: String,
    pub created_at_ms: u64,
}

fn is_e164(s: &str) -> bool {
    s.strip_prefix('+').is_some_and(|d| {
        (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0')
    })
}

impl Inner {
    pub(super) fn serve_messages(&self, inc: &Incoming, account: &str) -> Response {
        if account != self.cfg.account_sid {
            return not_found(&inc.path);
        }
        if inc.method != "POST" {
            return twilio_error(405, 20004, "Method not allowed", &[]);
        }
        let Some(pairs) = form(inc) else {
            return unparsable_form();
        };
        let to = param(&pairs, "To").unwrap_or("").trim();
        let from = param(&pairs, "From").unwrap_or("").trim();
        let body = param(&pairs, "Body").unwrap_or("");
        let fail = |code: u32, message: &str| twilio_error(400, code, message, &[]);
        if to.is_empty() {
            return fail(21604, "A 'To' phone number is required.");
        }
        if !is_e164(to) {
            return fail(21211, &format!("Invalid 'To' Phone Number: {to}"));
        }
        if from.is_empty() && param(&pairs, "MessagingServiceSid").is_none() {
            return fail(21603, "A 'From' phone number is required.");
        }
        if body.is_empty() {
            return fail(21602, "Message body is required.");
        }
        if body.chars().count() > 1600 {
            return fail(
                21617,
                "The concatenated message body exceeds the 1600 character limit.",
            );
        }
        let record = MessageRecord {
            sid: sid("SM"),
            to: to.to_owned(),
            from: from.to_owned(),
            body: body.to_owned(),
            created_at_ms: now_ms(),
        };
        lock(&self.messages).push(record.clone());
        let date = iso_seconds(record.created_at_ms);
        let account = &self.cfg.account_sid;
        util::json(
            201,
            &json!({
                "account_sid": account,
                "api_version": "2010-04-01",
                "body": record.body,
                "date_created": date,
                "date_sent": null,
                "date_updated": date,
                "direction": "outbound-api",
                "error_code": null,
                "error_message": null,
                "from": record.from,
                "messaging_service_sid": null,
                "num_media": "0",
                "num_segments": "1",
                "price": null,
                "price_unit": "USD",
                "sid": record.sid,
                "status": "queued",
                "subresource_uris": {"media": format!("/2010-04-01/Accounts/{account}/Messages/{}/Media.json", record.sid)},
                "to": record.to,
                "uri": format!("/2010-04-01/Accounts/{account}/Messages/{}.json", record.sid),
            }),
            &[],
        )
    }
}
