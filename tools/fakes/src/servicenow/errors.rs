//! ServiceNow's error envelopes: `{"error": {"message", "detail"}, "status": "failure"}`,
//! with the messages a real instance sends for each status.

use axum::response::Response;
use serde_json::json;

use crate::fault::FaultRule;
use crate::util::{self, now_ms};

pub(super) fn envelope(
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

pub(super) fn unauthorized() -> Response {
    envelope(
        401,
        "User Not Authenticated",
        Some("Required to provide Auth information"),
        &[],
    )
}

pub(super) fn not_found() -> Response {
    envelope(
        404,
        "No Record found",
        Some("Record doesn't exist or ACL restricts the record retrieval"),
        &[],
    )
}

pub(super) fn bad_request(message: &str, detail: Option<&str>) -> Response {
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
pub(super) fn fault_response(rule: &FaultRule) -> Response {
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

pub(super) fn invalid_payload() -> Response {
    bad_request(
        "Exception while reading request",
        Some("The payload is not valid JSON."),
    )
}
