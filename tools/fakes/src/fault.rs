//! Fault injection shared by both fakes.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::util::lock;

/// An injected failure.
///
/// The next `times` requests whose method equals `method` (if set, case-insensitive) and whose
/// path contains `path_contains` (if set) are answered with `status`, using the fake's own
/// error envelope for that status (or an HTML page when `html_body` is set), plus a
/// `Retry-After: <retry_after_secs>` header when set. `delay_ms` adds latency before the
/// answer; `status == 0` means "latency only", after which the request is served normally.
/// With `after_write` the request is carried out first and only its answer is replaced by
/// the failure (a write the server committed before a 502 or a timeout reached the client).
///
/// Rules are checked in insertion order; the first matching rule with `times > 0` wins and is
/// consumed. Faults are applied before authentication. `/__fake/...` control routes are never
/// affected.
///
/// When deserialized (the `/__fake/faults` control route) every field is optional; the
/// defaults are those of [`FaultRule::default`] (`times: 1`, everything else empty/zero).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultRule {
    pub method: Option<String>,
    pub path_contains: Option<String>,
    pub status: u16,
    pub retry_after_secs: Option<u64>,
    pub times: u32,
    pub html_body: bool,
    pub delay_ms: u64,
    pub after_write: bool,
}

impl Default for FaultRule {
    fn default() -> Self {
        Self {
            method: None,
            path_contains: None,
            status: 0,
            retry_after_secs: None,
            times: 1,
            html_body: false,
            delay_ms: 0,
            after_write: false,
        }
    }
}

impl FaultRule {
    /// `times` requests (any method, any path) answered with `status`.
    pub fn status(status: u16, times: u32) -> Self {
        Self {
            status,
            times,
            ..Self::default()
        }
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.times > 0
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .path_contains
                .as_deref()
                .is_none_or(|p| path.contains(p))
    }
}

/// The active rules of one fake.
#[derive(Debug, Default)]
pub(crate) struct FaultSet {
    rules: Mutex<Vec<FaultRule>>,
}

impl FaultSet {
    pub(crate) fn add(&self, rule: FaultRule) {
        if rule.times > 0 {
            lock(&self.rules).push(rule);
        }
    }

    pub(crate) fn clear(&self) {
        lock(&self.rules).clear();
    }

    /// Consumes one use of the first rule matching the request, returning a copy of it.
    pub(crate) fn take(&self, method: &str, path: &str) -> Option<FaultRule> {
        let mut rules = lock(&self.rules);
        let idx = rules.iter().position(|r| r.matches(method, path))?;
        let rule = &mut rules[idx];
        rule.times -= 1;
        let hit = rule.clone();
        if rule.times == 0 {
            rules.remove(idx);
        }
        Some(hit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_consumed_in_order() {
        let set = FaultSet::default();
        set.add(FaultRule {
            method: Some("patch".into()),
            path_contains: Some("/incident/".into()),
            status: 503,
            times: 2,
            ..FaultRule::default()
        });
        set.add(FaultRule::status(500, 1));
        assert_eq!(
            set.take("GET", "/api/now/table/incident/x")
                .map(|r| r.status),
            Some(500)
        );
        assert_eq!(set.take("GET", "/x"), None);
        assert_eq!(
            set.take("PATCH", "/api/now/table/incident/x")
                .map(|r| r.status),
            Some(503)
        );
        assert_eq!(
            set.take("PATCH", "/api/now/table/incident/x")
                .map(|r| r.status),
            Some(503)
        );
        assert_eq!(set.take("PATCH", "/api/now/table/incident/x"), None);
    }

    #[test]
    fn deserializes_with_defaults() {
        let r: FaultRule =
            serde_json::from_str(r#"{"status":429,"retry_after_secs":2}"#).expect("valid rule");
        assert_eq!(r.times, 1);
        assert_eq!(r.retry_after_secs, Some(2));
        assert!(r.method.is_none());
    }
}
