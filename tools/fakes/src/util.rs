//! Small helpers shared by both fakes: ids, clocks, HTTP plumbing.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tokio::net::TcpListener;

use crate::record::RecordedRequest;

/// Largest request body the fakes read.
const MAX_BODY: usize = 2 * 1024 * 1024;

/// Locks a mutex, ignoring poisoning (a panicked test thread must not wedge the fake).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// 32 random lowercase hex digits.
pub(crate) fn hex32() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

/// A Twilio-style SID: two-letter prefix + 32 lowercase hex digits.
pub(crate) fn sid(prefix: &str) -> String {
    format!("{prefix}{}", hex32())
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The instant `ms` milliseconds after the Unix epoch.
fn instant(ms: u64) -> jiff::Timestamp {
    i64::try_from(ms)
        .ok()
        .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
        .unwrap_or(jiff::Timestamp::MAX)
}

/// Milliseconds since the epoch of an ISO 8601 date-time as Twilio's filters take it:
/// `2026-11-21T10:00:00Z`, an optional fraction, `Z` or a `±hh:mm` offset. `None` if
/// malformed.
pub(crate) fn parse_iso(s: &str) -> Option<u64> {
    let at: jiff::Timestamp = s.parse().ok()?;
    u64::try_from(at.as_millisecond()).ok()
}

/// `2026-11-21T10:00:00Z` (Twilio REST resources).
pub(crate) fn iso_seconds(ms: u64) -> String {
    instant(ms).strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `2026-11-21T10:00:00.123Z` (CloudEvents `time`, event data dates).
pub(crate) fn iso_millis(ms: u64) -> String {
    format!(
        "{}.{:03}Z",
        instant(ms).strftime("%Y-%m-%dT%H:%M:%S"),
        ms % 1000
    )
}

/// `2026-11-21 10:00:00` (ServiceNow glide date-time, UTC).
pub(crate) fn glide_datetime(ms: u64) -> String {
    instant(ms).strftime("%Y-%m-%d %H:%M:%S").to_string()
}

/// Username and password from an `Authorization: Basic ...` header.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_owned(), pass.to_owned()))
}

/// A request read in full.
pub(crate) struct Incoming {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The body could not be read (too large or broken connection).
    pub body_unreadable: bool,
}

impl Incoming {
    pub(crate) async fn read(req: Request) -> Self {
        let (parts, body) = req.into_parts();
        let (body, body_unreadable) = match axum::body::to_bytes(body, MAX_BODY).await {
            Ok(b) => (b, false),
            Err(_) => (Bytes::new(), true),
        };
        Self {
            method: parts.method.as_str().to_ascii_uppercase(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().unwrap_or_default().to_owned(),
            headers: parts.headers,
            body,
            body_unreadable,
        }
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Query parameters, decoded; an undecodable query yields no parameters.
    pub(crate) fn query_pairs(&self) -> Vec<(String, String)> {
        serde_urlencoded::from_str(&self.query).unwrap_or_default()
    }

    pub(crate) fn record(&self, status: u16) -> RecordedRequest {
        RecordedRequest {
            method: self.method.clone(),
            path: self.path.clone(),
            query: self.query.clone(),
            headers: self
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: String::from_utf8_lossy(&self.body).into_owned(),
            status,
        }
    }
}

/// Builds a response; invalid header values are skipped rather than panicking.
pub(crate) fn response(
    status: u16,
    content_type: Option<&str>,
    body: impl Into<Body>,
    headers: &[(&str, String)],
) -> Response {
    let mut resp = Response::new(body.into());
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let map = resp.headers_mut();
    if let Some(ct) = content_type.and_then(|ct| HeaderValue::try_from(ct).ok()) {
        map.insert(header::CONTENT_TYPE, ct);
    }
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::try_from(*name),
            HeaderValue::try_from(value.as_str()),
        ) {
            map.append(n, v);
        }
    }
    resp
}

/// JSON response.
pub(crate) fn json(status: u16, value: &serde_json::Value, headers: &[(&str, String)]) -> Response {
    response(
        status,
        Some("application/json;charset=UTF-8"),
        value.to_string(),
        headers,
    )
}

/// HTML response (gateway pages, hibernating instances, ...).
pub(crate) fn html(status: u16, title: &str, headers: &[(&str, String)]) -> Response {
    let page = format!(
        "<!DOCTYPE html>\n<html><head><title>{title}</title></head>\
         <body><h1>{title}</h1><p>The service is temporarily unavailable.</p></body></html>\n"
    );
    response(status, Some("text/html; charset=utf-8"), page, headers)
}

/// Binds `addr`. Returns the listener and the base URL (`http://127.0.0.1:PORT`; an
/// unspecified bind address is reported as 127.0.0.1).
///
/// Panics if the address cannot be bound: these are test helpers, a bind failure is a broken
/// test environment.
pub(crate) async fn bind(addr: SocketAddr) -> (TcpListener, String) {
    let listener = TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| panic!("fake: cannot bind {addr}: {e}"));
    let local = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("fake: no local address for {addr}: {e}"));
    let host = if local.ip().is_unspecified() {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), local.port())
    } else {
        local
    };
    (listener, format!("http://{host}"))
}

/// Serves `router` on `listener` in a background task.
pub(crate) fn spawn_server(listener: TcpListener, router: Router) {
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "fake server stopped");
        }
    });
}

/// `127.0.0.1:0`.
pub(crate) fn any_local_port() -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates() {
        // 2026-11-21T10:00:00.123Z
        let ms = 1_795_255_200_123;
        assert_eq!(iso_seconds(ms), "2026-11-21T10:00:00Z");
        assert_eq!(iso_millis(ms), "2026-11-21T10:00:00.123Z");
        assert_eq!(glide_datetime(ms), "2026-11-21 10:00:00");
        assert_eq!(iso_seconds(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(iso_seconds(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn reads_the_dates_twilio_filters_take() {
        let ms = 1_795_255_200_000;
        assert_eq!(parse_iso("2026-11-21T10:00:00Z"), Some(ms));
        assert_eq!(parse_iso("2026-11-21T10:00:00.123Z"), Some(ms + 123));
        assert_eq!(parse_iso("2026-11-21T12:00:00+02:00"), Some(ms));
        assert_eq!(parse_iso("2026-11-21T09:30:00-00:30"), Some(ms));
        for bad in [
            "2026-11-21",
            "2026-13-01T00:00:00Z",
            "yesterday",
            "2026-11-21T10:00:00",
        ] {
            assert_eq!(parse_iso(bad), None, "{bad}");
        }
    }

    #[test]
    fn sids_are_hex() {
        let s = sid("FN");
        assert_eq!(s.len(), 34);
        assert!(
            s[2..]
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }
}
