//! A small Twilio REST client for the provisioning calls: Basic auth, form-encoded writes,
//! JSON answers, Twilio's error envelope (`{code, message, more_info, status, details}`,
//! as in Twilio's REST API docs) and list paging through `meta.next_page_url`.

use std::fmt;
use std::time::Duration;

use reqwest::{Client, RequestBuilder};
use serde_json::Value;

/// Default Studio API host.
pub const STUDIO_BASE_URL: &str = "https://studio.twilio.com";
/// Default Event Streams API host.
pub const EVENTS_BASE_URL: &str = "https://events.twilio.com";

/// Pages followed at most for one list (a safety stop, 50 items a page).
const MAX_PAGES: usize = 200;

/// Who calls Twilio: an API key (`SK...` + secret) of account `AC...`, or the account SID
/// with its auth token.
#[derive(Clone)]
pub struct Credentials {
    pub account_sid: String,
    pub username: String,
    pub password: String,
}

/// Where the credentials came from, so that an error can say what to fix.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CredentialSource {
    /// `TWILIO_ACCOUNT_SID`, `TWILIO_API_KEY_SID`, `TWILIO_API_KEY_SECRET` (the CLI).
    #[default]
    Environment,
    /// The stack's secret (`twilio_account_sid`, `twilio_api_key_sid`, `twilio_api_key_secret`).
    Secret,
}

impl CredentialSource {
    fn names(self) -> &'static str {
        match self {
            CredentialSource::Environment => "TWILIO_API_KEY_SID/TWILIO_API_KEY_SECRET",
            CredentialSource::Secret => "twilio_api_key_sid/secret in the secret",
        }
    }
}

/// What a Twilio error code means, in plain words, and what to do about it.
pub fn hint(code: u64, source: CredentialSource) -> Option<String> {
    let fix = match code {
        20003 => format!("authentication failed — check {}", source.names()),
        20404 => "not found — check the SID (flow, sink or subscription) and that it belongs to this account".into(),
        20429 | 20529 => "too many requests — wait a few seconds and run it again".into(),
        20409 => "conflict — another execution or resource is in the way (see the message)".into(),
        91000 => "the sink could not be created — check the stream ARN, role ARN and external id (stack outputs)".into(),
        93101..=93104 => "Twilio cannot write to the Kinesis stream — check the role's trust (external id, Twilio's account) and the stream".into(),
        _ => return None,
    };
    Some(format!("{code}: {fix}"))
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("account_sid", &self.account_sid)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl Credentials {
    /// From the environment (`lookup` is `std::env::var` in the binary): `TWILIO_ACCOUNT_SID`
    /// plus `TWILIO_API_KEY_SID` and `TWILIO_API_KEY_SECRET`, or else `TWILIO_AUTH_TOKEN`.
    /// The error names the variables that are missing.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Credentials, String> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let Some(account_sid) = get("TWILIO_ACCOUNT_SID") else {
            return Err(
                "TWILIO_ACCOUNT_SID is not set (your account SID, AC followed by 32 hex digits)"
                    .into(),
            );
        };
        if !(account_sid.len() == 34 && account_sid.starts_with("AC")) {
            return Err(format!(
                "TWILIO_ACCOUNT_SID {account_sid:?} is not an account SID (AC followed by 32 hex digits)"
            ));
        }
        match (get("TWILIO_API_KEY_SID"), get("TWILIO_API_KEY_SECRET")) {
            (Some(username), Some(password)) => Ok(Credentials {
                account_sid,
                username,
                password,
            }),
            (Some(_), None) => {
                Err("TWILIO_API_KEY_SECRET is not set (the secret of TWILIO_API_KEY_SID)".into())
            }
            (None, Some(_)) => {
                Err("TWILIO_API_KEY_SID is not set (SK followed by 32 hex digits)".into())
            }
            (None, None) => match get("TWILIO_AUTH_TOKEN") {
                Some(password) => Ok(Credentials {
                    username: account_sid.clone(),
                    account_sid,
                    password,
                }),
                None => Err(
                    "set TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET (an API key of the account; \
                             or TWILIO_AUTH_TOKEN)"
                        .into(),
                ),
            },
        }
    }
}

/// What went wrong talking to Twilio. `action` says what we were doing.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Twilio answered with an error status.
    #[error("{action}: {error}")]
    Twilio {
        action: String,
        error: Box<TwilioError>,
    },
    /// No answer (DNS, TLS, connection, timeout).
    #[error("{action}: no answer from {url}: {source}")]
    Transport {
        action: String,
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// A success status with a body we cannot use.
    #[error("{action}: unexpected answer from Twilio (HTTP {status}): {problem}")]
    Unexpected {
        action: String,
        status: u16,
        problem: String,
    },
}

impl ApiError {
    /// The Twilio error, when Twilio answered with one.
    pub fn twilio(&self) -> Option<&TwilioError> {
        match self {
            ApiError::Twilio { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Twilio's error envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct TwilioError {
    pub status: u16,
    pub code: Option<u64>,
    pub message: String,
    pub more_info: Option<String>,
    pub details: Value,
    /// Where the credentials of the failed call came from (for the hint).
    pub source: CredentialSource,
}

impl TwilioError {
    /// `details.errors[]` of a Flow validation error, as `(property_path, message)`.
    pub fn flow_errors(&self) -> Vec<(String, String)> {
        self.details
            .get("errors")
            .and_then(Value::as_array)
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| {
                        let text = |k: &str| {
                            e.get(k)
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_owned()
                        };
                        (text("property_path"), text("message"))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl fmt::Display for TwilioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A 401 without a code is still an authentication failure.
        let code = self.code.or((self.status == 401).then_some(20003));
        match code.and_then(|c| hint(c, self.source)) {
            Some(plain) => write!(
                f,
                "{plain} (Twilio answered HTTP {}: {})",
                self.status, self.message
            )?,
            None => {
                write!(f, "Twilio answered HTTP {}", self.status)?;
                if let Some(code) = self.code {
                    write!(f, ", error {code}")?;
                }
                write!(f, ": {}", self.message)?;
            }
        }
        if let Some(url) = &self.more_info {
            write!(f, " [{url}]")?;
        }
        for (path, message) in self.flow_errors() {
            write!(f, "\n  {path}: {message}")?;
        }
        Ok(())
    }
}

/// The client. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Twilio {
    http: Client,
    creds: Credentials,
    source: CredentialSource,
    studio: String,
    events: String,
}

impl Twilio {
    /// `studio_base`/`events_base` without a trailing slash are expected; one is removed.
    pub fn new(creds: Credentials, studio_base: &str, events_base: &str) -> Twilio {
        let http = Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("escalation-admin/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Twilio {
            http,
            creds,
            source: CredentialSource::Environment,
            studio: studio_base.trim_end_matches('/').to_owned(),
            events: events_base.trim_end_matches('/').to_owned(),
        }
    }

    /// Says where the credentials came from (error hints name what to fix).
    pub fn with_source(mut self, source: CredentialSource) -> Twilio {
        self.source = source;
        self
    }

    pub fn account_sid(&self) -> &str {
        &self.creds.account_sid
    }

    /// `https://studio.twilio.com` + `path`.
    pub fn studio_url(&self, path: &str) -> String {
        format!("{}{path}", self.studio)
    }

    /// `https://events.twilio.com` + `path`.
    pub fn events_url(&self, path: &str) -> String {
        format!("{}{path}", self.events)
    }

    pub async fn get(&self, action: &str, url: &str) -> Result<Value, ApiError> {
        self.send(action, url, self.http.get(url)).await
    }

    /// Form-encoded POST; repeated names are sent as repeated fields.
    pub async fn post(
        &self,
        action: &str,
        url: &str,
        form: &[(&str, String)],
    ) -> Result<Value, ApiError> {
        self.send(action, url, self.http.post(url).form(form)).await
    }

    /// Every item of a paged list: the array under `key` of each page.
    pub async fn list(&self, action: &str, url: &str, key: &str) -> Result<Vec<Value>, ApiError> {
        let mut items = Vec::new();
        let mut next = Some(url.to_owned());
        let mut pages = 0;
        while let Some(page_url) = next.take() {
            let page = self.get(action, &page_url).await?;
            let Some(array) = page.get(key).and_then(Value::as_array) else {
                return Err(ApiError::Unexpected {
                    action: action.to_owned(),
                    status: 200,
                    problem: format!("the list has no `{key}` array"),
                });
            };
            items.extend(array.iter().cloned());
            pages += 1;
            next = page
                .pointer("/meta/next_page_url")
                .and_then(Value::as_str)
                .filter(|u| !u.is_empty() && pages < MAX_PAGES)
                .map(str::to_owned);
            if let Some(next_url) = &next
                && !same_origin(url, next_url)
            {
                // The account's Basic credentials go with every page: only to the API itself.
                return Err(ApiError::Unexpected {
                    action: action.to_owned(),
                    status: 200,
                    problem: format!(
                        "the next page is on another host ({}); not following it with the account's credentials",
                        origin(next_url).unwrap_or_else(|| next_url.clone())
                    ),
                });
            }
        }
        Ok(items)
    }

    async fn send(&self, action: &str, url: &str, req: RequestBuilder) -> Result<Value, ApiError> {
        let resp = req
            .basic_auth(&self.creds.username, Some(&self.creds.password))
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|source| ApiError::Transport {
                action: action.to_owned(),
                url: url.to_owned(),
                source,
            })?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|source| ApiError::Transport {
            action: action.to_owned(),
            url: url.to_owned(),
            source,
        })?;
        let json = serde_json::from_str::<Value>(&text).ok();
        if (200..300).contains(&status) {
            return match json {
                Some(v) => Ok(v),
                None if text.trim().is_empty() => Ok(Value::Null),
                None => Err(ApiError::Unexpected {
                    action: action.to_owned(),
                    status,
                    problem: format!("the body is not JSON: {}", snippet(&text)),
                }),
            };
        }
        let body = json.unwrap_or(Value::Null);
        let message = body
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| {
                if text.trim().is_empty() {
                    "(empty body)".to_owned()
                } else {
                    snippet(&text)
                }
            });
        Err(ApiError::Twilio {
            action: action.to_owned(),
            error: Box::new(TwilioError {
                status,
                code: body.get("code").and_then(Value::as_u64),
                message,
                more_info: body
                    .get("more_info")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                details: body.get("details").cloned().unwrap_or(Value::Null),
                source: self.source,
            }),
        })
    }
}

/// `scheme://host:port` of a URL.
fn origin(url: &str) -> Option<String> {
    let u = reqwest::Url::parse(url).ok()?;
    Some(format!(
        "{}://{}:{}",
        u.scheme(),
        u.host_str()?,
        u.port_or_known_default()?
    ))
}

fn same_origin(a: &str, b: &str) -> bool {
    matches!((origin(a), origin(b)), (Some(x), Some(y)) if x == y)
}

/// The first 200 characters of a body, on one line.
fn snippet(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn twilio_errors_read_well() {
        let e = TwilioError {
            status: 400,
            code: Some(20001),
            message: "Invalid Flow Definition".into(),
            more_info: Some("https://www.twilio.com/docs/errors/20001".into()),
            details: json!({"errors": [{"property_path": "#/states/1/type", "message": "Unknown widget type 'x'"}]}),
            source: CredentialSource::Environment,
        };
        assert_eq!(
            e.to_string(),
            "Twilio answered HTTP 400, error 20001: Invalid Flow Definition \
             [https://www.twilio.com/docs/errors/20001]\n  #/states/1/type: Unknown widget type 'x'"
        );
        let auth = TwilioError {
            status: 401,
            code: Some(20003),
            message: "Authenticate".into(),
            more_info: None,
            details: Value::Null,
            source: CredentialSource::Secret,
        };
        assert_eq!(
            auth.to_string(),
            "20003: authentication failed — check twilio_api_key_sid/secret in the secret \
             (Twilio answered HTTP 401: Authenticate)"
        );
        let env = TwilioError {
            source: CredentialSource::Environment,
            code: None,
            ..auth
        };
        assert!(
            env.to_string().starts_with(
                "20003: authentication failed — check TWILIO_API_KEY_SID/TWILIO_API_KEY_SECRET"
            ),
            "{env}"
        );
        assert!(same_origin(
            "https://studio.twilio.com/v2/Flows?PageSize=50",
            "https://studio.twilio.com:443/v2/Flows?Page=1"
        ));
        assert!(!same_origin(
            "https://studio.twilio.com/v2/Flows",
            "https://studio.twilio.com.evil.example/v2/Flows"
        ));
        assert!(!same_origin("http://127.0.0.1:1/x", "http://127.0.0.1:2/x"));
        let creds = Credentials {
            account_sid: "AC1".into(),
            username: "SK1".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{creds:?}").contains("hunter2"));
    }
}
