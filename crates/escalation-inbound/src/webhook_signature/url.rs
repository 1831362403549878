//! The URL Twilio signed: rebuilt from the request, and its default-port variants.

/// The URL as given, without its port, and with the scheme's default port.
pub fn url_variants(url: &str) -> Vec<String> {
    let mut out = vec![url.to_string()];
    let Some((scheme, rest)) = url.split_once("://") else {
        return out;
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    // userinfo is never part of a webhook URL we build; keep it simple but safe.
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (format!("{u}@"), h),
        None => (String::new(), authority),
    };
    // A port is digits after the last colon ("[::1]:8080" yes, "[::1]" no).
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            (h, Some(p))
        }
        _ => (hostport, None),
    };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" => Some("443"),
        "http" => Some("80"),
        _ => None,
    };
    let without = format!("{scheme}://{userinfo}{host}{tail}");
    let mut push = |u: String| {
        if !out.contains(&u) {
            out.push(u);
        }
    };
    if port.is_some() {
        push(without.clone());
    }
    if let Some(d) = default_port
        && (port.is_none() || port == Some(d))
    {
        push(format!("{scheme}://{userinfo}{host}:{d}{tail}"));
        push(without);
    }
    out
}

/// The public URL Twilio called: `PUBLIC_BASE_URL` (scheme, host and any path prefix in
/// front of the function, e.g. a custom domain) if configured, else the request's
/// `x-forwarded-proto` (default https) and `host`; then the raw path and query exactly as
/// received.
pub fn public_url(
    base: Option<&str>,
    proto: Option<&str>,
    host: Option<&str>,
    raw_path: &str,
    raw_query: Option<&str>,
) -> Option<String> {
    let base = match base.map(str::trim).filter(|b| !b.is_empty()) {
        Some(b) => b.trim_end_matches('/').to_string(),
        None => {
            let host = host.map(str::trim).filter(|h| !h.is_empty())?;
            let proto = proto
                .and_then(|p| p.split(',').next())
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .unwrap_or("https");
            format!("{proto}://{host}")
        }
    };
    let path = if raw_path.starts_with('/') {
        raw_path.to_string()
    } else {
        format!("/{raw_path}")
    };
    Some(match raw_query.filter(|q| !q.is_empty()) {
        Some(q) => format!("{base}{path}?{q}"),
        None => format!("{base}{path}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_variants() {
        assert_eq!(
            url_variants("https://h.example/a?b=1"),
            ["https://h.example/a?b=1", "https://h.example:443/a?b=1"]
        );
        assert_eq!(
            url_variants("https://h.example:443/a"),
            ["https://h.example:443/a", "https://h.example/a"]
        );
        assert_eq!(
            url_variants("http://h.example"),
            ["http://h.example", "http://h.example:80"]
        );
        assert_eq!(
            url_variants("http://127.0.0.1:9000/x"),
            ["http://127.0.0.1:9000/x", "http://127.0.0.1/x"]
        );
    }

    #[test]
    fn rebuilds_the_public_url() {
        assert_eq!(
            public_url(
                None,
                Some("https"),
                Some("abc.lambda-url.us-east-1.on.aws"),
                "/voice/menu",
                Some("g=1&t=0")
            )
            .unwrap(),
            "https://abc.lambda-url.us-east-1.on.aws/voice/menu?g=1&t=0"
        );
        assert_eq!(
            public_url(
                Some("https://esc.example.com/inbound/"),
                Some("https"),
                Some("abc.lambda-url.us-east-1.on.aws"),
                "/voice",
                Some("")
            )
            .unwrap(),
            "https://esc.example.com/inbound/voice"
        );
        assert_eq!(
            public_url(None, None, Some("h"), "/sms", None).unwrap(),
            "https://h/sms"
        );
        assert_eq!(public_url(None, Some("https"), None, "/sms", None), None);
    }
}
