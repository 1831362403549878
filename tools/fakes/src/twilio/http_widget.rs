//! The `make-http-request` widget as the fake runs it: a POST of the widget's `parameters`
//! as a form (or its `body` as JSON) to its `url`, over plain HTTP (the local stack), with
//! Studio's limit of 10 s (shorter when the fake is told so). `success` on a 2xx answer
//! (its JSON body is `parsed`), `failed` on anything else, a refused connection or a
//! timeout, as in Studio.

use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// What the widget sent and got, as `context.widgets.<name>` shows it.
pub(super) struct Answer {
    pub(super) event: &'static str,
    pub(super) context: Value,
}

/// One request. `form` is the widget's `parameters`, Liquid filled in.
pub(super) fn post(url: &str, form: &[(String, String)], timeout: Duration) -> Answer {
    match send(url, form, timeout) {
        Ok((status, body)) => {
            let parsed = serde_json::from_str::<Value>(&body).ok();
            let mut ctx = json!({"status_code": status, "body": body,
                "content_type": "application/json"});
            if let Some(p) = parsed {
                ctx["parsed"] = p;
            }
            Answer {
                event: if (200..300).contains(&status) {
                    "success"
                } else {
                    "failed"
                },
                context: ctx,
            }
        }
        Err(e) => Answer {
            event: "failed",
            context: json!({"status_code": 0, "error": e}),
        },
    }
}

fn send(url: &str, form: &[(String, String)], timeout: Duration) -> Result<(u16, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("the fake only calls http:// URLs, not {url:?}"))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = std::net::ToSocketAddrs::to_socket_addrs(host)
        .map_err(|e| e.to_string())?
        .next()
        .ok_or("no address")?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let body = serde_urlencoded::to_string(form).map_err(|e| e.to_string())?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: TwilioProxy/1.1\r\n\
         Content-Type: application/x-www-form-urlencoded;charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("no answer in time: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no status line")?;
    Ok((status, body.to_owned()))
}
