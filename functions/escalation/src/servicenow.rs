//! ServiceNow Table API client: PATCH the incident, look up users, read work notes back.
//!
//! Errors follow `{"error":{"message","detail"},"status":"failure"}`; the body can also be
//! missing or HTML (a hibernating instance answers 200 with a page), so responses are
//! classified by status and content (notes/servicenow.md §1.4, §5).

use crate::phone::E164;
use crate::retry::{RetryPolicy, Transient, parse_retry_after};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::future::Future;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum SnError {
    #[error("ServiceNow 429 (rate limited)")]
    RateLimited { retry_after: Option<Duration> },
    #[error("ServiceNow {status}: {message}{}", detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Api {
        status: u16,
        message: String,
        detail: Option<String>,
    },
    #[error("ServiceNow request failed: {0}")]
    Transport(String),
    #[error("ServiceNow answered {status} with a body that is not Table API JSON: {detail}")]
    Decode { status: u16, detail: String },
}

impl Transient for SnError {
    fn is_transient(&self) -> bool {
        match self {
            SnError::RateLimited { .. } | SnError::Transport(_) => true,
            SnError::Api { status, .. } => *status >= 500,
            // HTML instead of JSON: a hibernating or waking instance, a proxy page.
            SnError::Decode { .. } => true,
        }
    }
    fn retry_after(&self) -> Option<Duration> {
        match self {
            SnError::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }
}

/// The ServiceNow operations the escalation needs.
pub trait ServiceNow: Send + Sync {
    /// PATCH `incident/{sys_id}` with `fields`; returns the updated record.
    fn patch_incident(
        &self,
        sys_id: &str,
        fields: &Map<String, Value>,
    ) -> impl Future<Output = Result<Map<String, Value>, SnError>> + Send;
    /// Resolve a roster `sn_user` (a sys_id or a user_name) to a sys_id; `None` if no active user matches.
    fn resolve_user(
        &self,
        user: &str,
    ) -> impl Future<Output = Result<Option<String>, SnError>> + Send;
    /// Whether a work note containing `needle` already exists on the incident.
    fn work_note_exists(
        &self,
        sys_id: &str,
        needle: &str,
    ) -> impl Future<Output = Result<bool, SnError>> + Send;
    /// POST `incident` with `fields` (201); returns the new record's sys_id, number and the
    /// priority ServiceNow computed. Retried only on 429 (a lost answer to a retried POST
    /// could create a second incident; callers look up `correlation_id` first).
    fn create_incident(
        &self,
        fields: &Map<String, Value>,
    ) -> impl Future<Output = Result<IncidentRecord, SnError>> + Send;
    /// The newest incident whose `correlation_id` is exactly `correlation_id`, if any.
    fn find_incident_by_correlation(
        &self,
        correlation_id: &str,
    ) -> impl Future<Output = Result<Option<IncidentRecord>, SnError>> + Send;
    /// Active users whose `phone` or `mobile_phone` is `number` once both are normalised
    /// (notes/servicenow.md §1.8: the fields are free text such as "+1 858 867 7857").
    /// Candidates are fetched with `LIKE` on the number's last digits and compared digit by
    /// digit here; `default_country_code` reads national numbers ("(858) 867-7857").
    fn find_users_by_phone(
        &self,
        number: &E164,
        default_country_code: Option<&str>,
    ) -> impl Future<Output = Result<Vec<SnUser>, SnError>> + Send;
}

/// An incident as the inbound line needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentRecord {
    pub sys_id: String,
    pub number: String,
    pub priority: String,
}

/// A user found by phone number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnUser {
    pub sys_id: String,
    pub user_name: String,
    pub name: String,
}

/// Only a 429 is known not to have been processed: the one error a POST may repeat.
#[derive(Debug)]
struct PostError(SnError);

impl std::fmt::Display for PostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Transient for PostError {
    fn is_transient(&self) -> bool {
        matches!(self.0, SnError::RateLimited { .. })
    }
    fn retry_after(&self) -> Option<Duration> {
        self.0.retry_after()
    }
}

fn str_of(row: &Value, field: &str) -> String {
    row.get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn incident_record(row: &Value) -> Option<IncidentRecord> {
    let sys_id = str_of(row, "sys_id");
    is_sys_id(&sys_id).then(|| IncidentRecord {
        sys_id,
        number: str_of(row, "number"),
        priority: str_of(row, "priority"),
    })
}

/// The E.164 numbers a free-text phone field can stand for: `+` or `00` international
/// forms as written; a national number with `default_country_code` (a leading trunk `0`
/// dropped, e.g. UK "020 7183 8750" → +442071838750); an extension ("x123", "ext. 123")
/// is ignored. Empty if nothing plausible.
pub fn phone_candidates(stored: &str, default_country_code: Option<&str>) -> Vec<String> {
    let lower = stored.to_ascii_lowercase();
    let main = ["ext", "x", "#", ";", ","]
        .iter()
        .filter_map(|sep| lower.find(sep))
        .min()
        .map_or(lower.as_str(), |i| &lower[..i]);
    // "+44 (0)20 ..." writes the trunk prefix inside an international number: drop it.
    let main = main.replace("(0)", "");
    let start = main
        .find(|c: char| c == '+' || c.is_ascii_digit())
        .unwrap_or(main.len());
    let trimmed = &main[start..];
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 6 {
        return Vec::new();
    }
    let mut out = Vec::new();
    if trimmed.starts_with('+') {
        out.push(format!("+{digits}"));
    } else if let Some(rest) = digits.strip_prefix("00") {
        out.push(format!("+{rest}"));
    } else {
        if let Some(cc) = default_country_code {
            match digits.strip_prefix('0') {
                Some(national) => out.push(format!("+{cc}{national}")),
                None => {
                    out.push(format!("+{cc}{digits}"));
                    // Already written with the country code but without "+" ("1 858 867 7857").
                    if digits.starts_with(cc) {
                        out.push(format!("+{digits}"));
                    }
                }
            }
        } else {
            out.push(format!("+{digits}"));
        }
    }
    out.retain(|n| E164::parse(n).is_ok());
    out
}

/// Whether a free-text phone field is the same number as `number`.
pub fn phone_matches(stored: &str, number: &E164, default_country_code: Option<&str>) -> bool {
    phone_candidates(stored, default_country_code)
        .iter()
        .any(|c| c == number.as_str())
}

/// `LIKE` fragments that find a number however it is grouped: the last four digits
/// together (NANP, E.123 and most national styles keep them together) or as two pairs
/// ("06 12 34 56 78"). Seven digits in a row, as sometimes suggested, would miss
/// "+1 858 867 7857".
fn phone_like_fragments(number: &E164) -> Vec<String> {
    let digits = crate::phone::digits(number.as_str());
    let last4 = &digits[digits.len().saturating_sub(4)..];
    vec![
        last4.to_string(),
        format!("{} {}", &last4[..2], &last4[2..]),
    ]
}

#[derive(Clone)]
pub struct SnClient {
    http: reqwest::Client,
    base_url: String,
    username: String,
    password: String,
    retry: RetryPolicy,
}

impl std::fmt::Debug for SnClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnClient")
            .field("base_url", &self.base_url)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

pub fn is_sys_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl SnClient {
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        username: &str,
        password: &str,
        retry: RetryPolicy,
    ) -> Self {
        SnClient {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            username: username.to_string(),
            password: password.to_string(),
            retry,
        }
    }

    fn table(&self, table: &str) -> String {
        format!("{}/api/now/table/{table}", self.base_url)
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Value, SnError> {
        let resp = req
            .basic_auth(&self.username, Some(&self.password))
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| SnError::Transport(e.without_url().to_string()))?;
        let status = resp.status().as_u16();
        let retry_after = parse_retry_after(resp.headers().get(reqwest::header::RETRY_AFTER));
        let is_json = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json"));
        let body = resp
            .bytes()
            .await
            .map_err(|e| SnError::Transport(e.without_url().to_string()))?;
        classify(status, retry_after, is_json, &body)
    }

    async fn list(
        &self,
        table: &str,
        query: &str,
        fields: &str,
        limit: u32,
    ) -> Result<Vec<Value>, SnError> {
        let limit = limit.to_string();
        let params = [
            ("sysparm_query", query),
            ("sysparm_fields", fields),
            ("sysparm_limit", limit.as_str()),
            ("sysparm_exclude_reference_link", "true"),
        ];
        let v = self
            .retry
            .run(|| self.send(self.http.get(self.table(table)).query(&params)))
            .await?;
        match v.get("result") {
            Some(Value::Array(rows)) => Ok(rows.clone()),
            _ => Err(SnError::Decode {
                status: 200,
                detail: "`result` is not a list".into(),
            }),
        }
    }
}

/// Turn a Table API response into the `result` value or a typed error.
pub fn classify(
    status: u16,
    retry_after: Option<Duration>,
    is_json: bool,
    body: &[u8],
) -> Result<Value, SnError> {
    if status == 429 {
        return Err(SnError::RateLimited { retry_after });
    }
    let parsed: Option<Value> = if is_json || body.first() == Some(&b'{') {
        serde_json::from_slice(body).ok()
    } else {
        None
    };
    if (200..300).contains(&status) {
        return match parsed {
            Some(v) if v.get("result").is_some() => Ok(v),
            _ => Err(SnError::Decode {
                status,
                detail: snippet(body),
            }),
        };
    }
    #[derive(Deserialize)]
    struct ErrBody {
        message: Option<String>,
        detail: Option<String>,
    }
    let err: Option<ErrBody> = parsed
        .as_ref()
        .and_then(|v| v.get("error"))
        .and_then(|e| serde_json::from_value(e.clone()).ok());
    match err {
        Some(e) => Err(SnError::Api {
            status,
            message: e.message.unwrap_or_default(),
            detail: e.detail,
        }),
        None => Err(SnError::Api {
            status,
            message: snippet(body),
            detail: None,
        }),
    }
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(160)]);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Encoded-query values must not smuggle operators.
fn query_safe(s: &str) -> bool {
    !s.is_empty() && !s.contains('^') && !s.contains('=') && s.len() <= 100
}

impl ServiceNow for SnClient {
    async fn patch_incident(
        &self,
        sys_id: &str,
        fields: &Map<String, Value>,
    ) -> Result<Map<String, Value>, SnError> {
        if !is_sys_id(sys_id) {
            return Err(SnError::Api {
                status: 400,
                message: format!("{sys_id:?} is not a sys_id"),
                detail: None,
            });
        }
        let url = format!("{}/{sys_id}", self.table("incident"));
        let params = [
            ("sysparm_exclude_reference_link", "true"),
            (
                "sysparm_fields",
                "sys_id,number,state,assigned_to,assignment_group",
            ),
        ];
        let v = self
            .retry
            .run(|| self.send(self.http.patch(&url).query(&params).json(fields)))
            .await?;
        Ok(v.get("result")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default())
    }

    async fn resolve_user(&self, user: &str) -> Result<Option<String>, SnError> {
        if !query_safe(user) {
            return Ok(None);
        }
        let field = if is_sys_id(user) {
            "sys_id"
        } else {
            "user_name"
        };
        let rows = self
            .list(
                "sys_user",
                &format!("{field}={user}^active=true"),
                "sys_id,user_name",
                1,
            )
            .await?;
        Ok(rows
            .first()
            .and_then(|r| r.get("sys_id"))
            .and_then(Value::as_str)
            .map(str::to_string))
    }

    async fn work_note_exists(&self, sys_id: &str, needle: &str) -> Result<bool, SnError> {
        if !is_sys_id(sys_id) || needle.contains('^') {
            return Ok(false);
        }
        let rows = self
            .list(
                "sys_journal_field",
                &format!("element_id={sys_id}^element=work_notes^valueLIKE{needle}"),
                "sys_id",
                1,
            )
            .await?;
        Ok(!rows.is_empty())
    }

    async fn create_incident(
        &self,
        fields: &Map<String, Value>,
    ) -> Result<IncidentRecord, SnError> {
        let params = [
            ("sysparm_exclude_reference_link", "true"),
            ("sysparm_fields", "sys_id,number,priority,state"),
        ];
        let url = self.table("incident");
        let v = self
            .retry
            .run(|| async {
                self.send(self.http.post(&url).query(&params).json(fields))
                    .await
                    .map_err(PostError)
            })
            .await
            .map_err(|e| e.0)?;
        v.get("result")
            .and_then(incident_record)
            .ok_or_else(|| SnError::Decode {
                status: 201,
                detail: "the created incident has no sys_id".into(),
            })
    }

    async fn find_incident_by_correlation(
        &self,
        correlation_id: &str,
    ) -> Result<Option<IncidentRecord>, SnError> {
        if !query_safe(correlation_id) {
            return Ok(None);
        }
        let rows = self
            .list(
                "incident",
                &format!("correlation_id={correlation_id}^ORDERBYDESCsys_created_on"),
                "sys_id,number,priority",
                1,
            )
            .await?;
        Ok(rows.first().and_then(incident_record))
    }

    async fn find_users_by_phone(
        &self,
        number: &E164,
        default_country_code: Option<&str>,
    ) -> Result<Vec<SnUser>, SnError> {
        let mut query = String::from("active=true");
        for (i, fragment) in phone_like_fragments(number).iter().enumerate() {
            for field in ["phone", "mobile_phone"] {
                let join = if i == 0 && field == "phone" {
                    "^"
                } else {
                    "^OR"
                };
                query.push_str(&format!("{join}{field}LIKE{fragment}"));
            }
        }
        let rows = self
            .list(
                "sys_user",
                &query,
                "sys_id,user_name,name,phone,mobile_phone",
                200,
            )
            .await?;
        Ok(rows
            .iter()
            .filter(|r| {
                ["phone", "mobile_phone"]
                    .iter()
                    .any(|f| phone_matches(&str_of(r, f), number, default_country_code))
            })
            .filter(|r| is_sys_id(&str_of(r, "sys_id")))
            .map(|r| SnUser {
                sys_id: str_of(r, "sys_id"),
                user_name: str_of(r, "user_name"),
                name: str_of(r, "name"),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_documented_bodies() {
        let ok = classify(200, None, true, br#"{"result":{"sys_id":"a"}}"#).unwrap();
        assert_eq!(ok["result"]["sys_id"], "a");
        let e = classify(404, None, true, br#"{"error":{"message":"No Record found","detail":"Record doesn't exist or ACL restricts the record retrieval"},"status":"failure"}"#).unwrap_err();
        assert!(!e.is_transient());
        assert!(e.to_string().contains("No Record found"), "{e}");
        let e = classify(
            401,
            None,
            true,
            br#"{"error":{"message":"User Not Authenticated","detail":null},"status":"failure"}"#,
        )
        .unwrap_err();
        assert!(matches!(e, SnError::Api { status: 401, .. }));
        let e = classify(
            429,
            Some(Duration::from_secs(3)),
            true,
            br#"{"error":{"message":"Rate limit exceeded"}}"#,
        )
        .unwrap_err();
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert!(e.is_transient());
        assert!(
            classify(503, None, false, b"<html>down</html>")
                .unwrap_err()
                .is_transient()
        );
        // A hibernating instance answers 200 with HTML.
        let e = classify(
            200,
            None,
            false,
            b"<html><body>Instance Hibernating page</body></html>",
        )
        .unwrap_err();
        assert!(matches!(e, SnError::Decode { .. }) && e.is_transient());
    }

    #[test]
    fn phone_fields_normalise_to_e164() {
        let n = E164::parse("+18588677857").unwrap();
        for stored in [
            "+1 858 867 7857",
            "+1 (858) 867-7857",
            "+18588677857",
            "001 858 867 7857",
            "+1 858 867 7857 ext. 12",
            "+1.858.867.7857 x12",
        ] {
            assert!(phone_matches(stored, &n, None), "{stored}");
        }
        // National forms need the default country code.
        assert!(!phone_matches("(858) 867-7857", &n, None));
        assert!(phone_matches("(858) 867-7857", &n, Some("1")));
        assert!(phone_matches("1 858 867 7857", &n, Some("1")));
        let uk = E164::parse("+442071838750").unwrap();
        assert!(phone_matches("020 7183 8750", &uk, Some("44")));
        assert!(phone_matches("+44 (0)20 7183 8750", &uk, None));
        assert!(phone_matches("mobile: +1 858 867 7857", &n, None));
        // Other numbers, fragments and junk never match.
        for stored in ["+1 858 867 7858", "867 7857", "", "n/a", "+44 858 867 7857"] {
            assert!(!phone_matches(stored, &n, Some("1")), "{stored}");
        }
    }

    #[test]
    fn phone_like_fragments_cover_common_groupings() {
        let n = E164::parse("+33612345678").unwrap();
        assert_eq!(phone_like_fragments(&n), ["5678", "56 78"]);
    }

    #[test]
    fn sys_ids() {
        assert!(is_sys_id("ef43c6d40a0a0b5700c77f9bf387afe3"));
        assert!(!is_sys_id("beth.anglin"));
        assert!(!query_safe("a^ORactive=false"));
    }
}
