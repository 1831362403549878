//! Twilio's error envelopes: `{"code", "message", "more_info", "status"}`, with the codes
//! the REST API sends for each status.

use axum::response::Response;
use serde_json::json;

use crate::fault::FaultRule;
use crate::util;

pub(super) fn twilio_error(
    status: u16,
    code: u32,
    message: &str,
    headers: &[(&str, String)],
) -> Response {
    util::json(
        status,
        &json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status,
        }),
        headers,
    )
}

pub(super) fn unauthorized() -> Response {
    twilio_error(
        401,
        20003,
        "Authenticate",
        &[("WWW-Authenticate", "Basic realm=\"Twilio API\"".to_owned())],
    )
}

pub(super) fn not_found(path: &str) -> Response {
    twilio_error(
        404,
        20404,
        &format!("The requested resource {path} was not found"),
        &[],
    )
}

pub(super) fn invalid(message: &str) -> Response {
    twilio_error(400, 20001, message, &[])
}

/// A POST whose body is not a form.
pub(super) fn unparsable_form() -> Response {
    invalid("Unable to parse the request body as application/x-www-form-urlencoded")
}

pub(super) fn too_many_requests(retry_after: Option<u64>) -> Response {
    let headers: Vec<(&str, String)> = retry_after
        .map(|s| vec![("Retry-After", s.to_string())])
        .unwrap_or_default();
    twilio_error(429, 20429, "Too Many Requests", &headers)
}

pub(super) fn fault_response(rule: &FaultRule, path: &str) -> Response {
    let mut headers: Vec<(&str, String)> = Vec::new();
    if let Some(secs) = rule.retry_after_secs {
        headers.push(("Retry-After", secs.to_string()));
    }
    if rule.html_body {
        let title = match rule.status {
            502 => "502 Bad Gateway",
            503 => "503 Service Temporarily Unavailable",
            504 => "504 Gateway Time-out",
            _ => "Error",
        };
        return util::html(rule.status, title, &headers);
    }
    let (code, message) = match rule.status {
        401 => (20003, "Authenticate".to_owned()),
        403 => (20403, "Forbidden".to_owned()),
        404 => (
            20404,
            format!("The requested resource {path} was not found"),
        ),
        409 => (20409, "Conflict".to_owned()),
        429 => (20429, "Too Many Requests".to_owned()),
        500 => (20500, "Internal Server Error".to_owned()),
        503 => (20503, "Service Unavailable".to_owned()),
        s => (20000 + u32::from(s), "Error".to_owned()),
    };
    twilio_error(rule.status, code, &message, &headers)
}
