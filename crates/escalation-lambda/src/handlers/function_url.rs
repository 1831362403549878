//! What every function-URL handler that answers in JSON shares (incident-trigger,
//! call-decision): only POST, a bounded body, the body decoded (a form or a JSON object),
//! and answers as JSON with the status that says what happened.

use lambda_http::http::{Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value, json};

/// A request refused before its use case runs: its status and a message naming what was
/// wrong (never a secret).
#[derive(Debug, PartialEq, Eq)]
pub struct Reject {
    pub status: StatusCode,
    pub message: String,
}

impl Reject {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Reject {
        Reject {
            status,
            message: message.into(),
        }
    }

    /// `{"error": message}` with the status (and `Allow: POST` after a wrong method).
    pub fn response(&self) -> Response<Body> {
        let mut resp = respond(self.status, json!({ "error": self.message }));
        if self.status == StatusCode::METHOD_NOT_ALLOWED {
            resp.headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
        }
        resp
    }
}

/// A JSON answer.
pub fn respond(status: StatusCode, body: Value) -> Response<Body> {
    let mut resp = Response::new(Body::Text(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    resp
}

/// The body of a POST of at most `max_bytes`, before anything else is looked at.
pub fn post_body(req: &Request, max_bytes: usize) -> Result<&[u8], Reject> {
    if req.method() != Method::POST {
        return Err(Reject::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("method {} not allowed; use POST", req.method()),
        ));
    }
    let body: &[u8] = req.body().as_ref();
    if body.len() > max_bytes {
        return Err(Reject::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("body is {} bytes; the limit is {max_bytes}", body.len()),
        ));
    }
    Ok(body)
}

/// A request header as text (`None` when absent or not text).
pub fn header<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// How a body was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Form,
    Json,
}

/// The fields of a body: a form (`application/x-www-form-urlencoded`, or no Content-Type
/// and not starting with `{`; a repeated name keeps its first value) or a JSON object
/// (`application/json`, or no Content-Type).
pub fn decode(content_type: &str, body: &[u8]) -> Result<(Encoding, Map<String, Value>), String> {
    let text = std::str::from_utf8(body).map_err(|_| "body is not UTF-8".to_string())?;
    let ct = content_type.to_ascii_lowercase();
    if ct.starts_with("application/x-www-form-urlencoded")
        || (ct.is_empty() && !text.trim_start().starts_with('{'))
    {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(text).map_err(|e| format!("form body is malformed: {e}"))?;
        let mut map = Map::new();
        for (k, v) in pairs {
            map.entry(k).or_insert(Value::String(v));
        }
        return Ok((Encoding::Form, map));
    }
    if ct.is_empty() || ct.starts_with("application/json") {
        return match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => Ok((Encoding::Json, map)),
            Ok(_) => Err("body must be a JSON object".into()),
            Err(e) => Err(format!("body is not valid JSON: {e}")),
        };
    }
    Err(format!(
        "Content-Type {content_type:?} is not supported; send application/json or a form"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_json_objects_are_decoded_and_anything_else_named() {
        let (e, f) = decode(
            "application/x-www-form-urlencoded;charset=utf-8",
            b"a=1&a=2&b=x+y",
        )
        .unwrap();
        assert_eq!(
            (e, &f["a"], &f["b"]),
            (Encoding::Form, &json!("1"), &json!("x y"))
        );
        let (e, f) = decode("", br#"{"a": 2}"#).unwrap();
        assert_eq!((e, &f["a"]), (Encoding::Json, &json!(2)));
        assert_eq!(decode("", b"a=1").unwrap().0, Encoding::Form);
        for (ct, body, says) in [
            ("application/json", &b"[1]"[..], "JSON object"),
            ("application/json", b"{no", "not valid JSON"),
            ("text/xml", b"<x/>", "Content-Type \"text/xml\""),
            ("application/json", b"\xff", "UTF-8"),
        ] {
            let err = decode(ct, body).unwrap_err();
            assert!(err.contains(says), "{ct}: {err}");
        }
    }

    #[test]
    fn only_a_bounded_post_is_read() {
        let get = lambda_http::http::Request::builder()
            .method("GET")
            .body(Body::Empty)
            .unwrap();
        let r = post_body(&get, 10).unwrap_err();
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.response().headers()[header::ALLOW], "POST");
        let big = lambda_http::http::Request::builder()
            .method("POST")
            .body(Body::Text("x".repeat(11)))
            .unwrap();
        let r = post_body(&big, 10).unwrap_err();
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(r.message.contains("11 bytes; the limit is 10"));
    }
}
