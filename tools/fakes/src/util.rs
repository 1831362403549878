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

/// (year, month, day, hour, minute, second, millisecond) in UTC.
fn civil(ms: u64) -> (i64, u32, u32, u32, u32, u32, u32) {
    let secs = ms / 1000;
    let millis = (ms % 1000) as u32;
    let days = (secs / 86_400) as i64;
    let rem = (secs % 86_400) as u32;
    // Days-to-civil conversion (proleptic Gregorian calendar), era based.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        millis,
    )
}

/// Milliseconds since the epoch of an ISO 8601 date-time as Twilio's filters take it:
/// `2026-11-21T10:00:00Z`, an optional fraction, `Z` or a `±hh:mm` offset. `None` if
/// malformed.
pub(crate) fn parse_iso(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if b[13] != b':' || b[16] != b':' || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut millis = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        let digits = &frac[..n];
        millis = format!("{:0<3}", &digits[..n.min(3)]).parse().ok()?;
        rest = &frac[n..];
    }
    let offset_secs = match rest {
        "Z" | "z" => 0,
        o if o.len() == 6 && matches!(&o[..1], "+" | "-") && &o[3..4] == ":" => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let oh: i64 = o[1..3].parse().ok()?;
            let om: i64 = o[4..6].parse().ok()?;
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    // Civil-to-days conversion (proleptic Gregorian calendar), era based.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if mo > 2 { mo - 3 } else { mo + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_secs;
    u64::try_from(secs * 1000 + millis).ok()
}

/// `2026-11-21T10:00:00Z` (Twilio REST resources).
pub(crate) fn iso_seconds(ms: u64) -> String {
    let (y, mo, d, h, mi, s, _) = civil(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// `2026-11-21T10:00:00.123Z` (CloudEvents `time`, event data dates).
pub(crate) fn iso_millis(ms: u64) -> String {
    let (y, mo, d, h, mi, s, milli) = civil(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

/// `2026-11-21 10:00:00` (ServiceNow glide date-time, UTC).
pub(crate) fn glide_datetime(ms: u64) -> String {
    let (y, mo, d, h, mi, s, _) = civil(ms);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
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
