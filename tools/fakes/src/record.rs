//! Request recording shared by both fakes.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::util::lock;

/// One request as the fake saw it, with the status it answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// HTTP method, upper case (`GET`, `PATCH`, ...).
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// Raw query string without the leading `?` (empty when there is none).
    pub query: String,
    /// Request headers in arrival order, names lower case.
    pub headers: Vec<(String, String)>,
    /// Request body (lossy UTF-8).
    pub body: String,
    /// Status code the fake answered with.
    pub status: u16,
}

impl RecordedRequest {
    /// First value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Append-only log of requests.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    requests: Mutex<Vec<RecordedRequest>>,
}

impl Recorder {
    pub(crate) fn push(&self, r: RecordedRequest) {
        lock(&self.requests).push(r);
    }

    pub(crate) fn clear(&self) {
        lock(&self.requests).clear();
    }

    pub(crate) fn all(&self) -> Vec<RecordedRequest> {
        lock(&self.requests).clone()
    }
}
