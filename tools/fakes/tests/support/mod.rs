//! What the fakes' tests share: sending a request with a real HTTP client and reading what
//! comes back.

#![allow(dead_code)]

pub mod studio;

use reqwest::{RequestBuilder, Response};
use serde_json::Value;

/// Send `req`; the fake must answer.
pub async fn send(req: RequestBuilder) -> Response {
    req.send().await.expect("request")
}

/// Send `req` accepting JSON, as a ServiceNow client does.
pub async fn send_json(req: RequestBuilder) -> Response {
    send(req.header("Accept", "application/json")).await
}

pub async fn json_of(resp: Response) -> Value {
    resp.json().await.expect("JSON body")
}

/// The value of header `name`, if it is there and readable.
pub fn header<'a>(resp: &'a Response, name: &str) -> Option<&'a str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}
