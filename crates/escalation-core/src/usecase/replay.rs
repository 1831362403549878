//! Replay guard: a signed trigger request is accepted once. Marks outlive the signature's
//! clock-skew window on both sides, after which the timestamp check refuses the request
//! anyway.

use crate::ports::{Mark, Marks, RepoError};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum Replay {
    #[error("replayed request: this signature was already used; sign each request anew")]
    Replayed,
    #[error("request could not be checked (storage unavailable); send it again")]
    Unavailable(RepoError),
}

#[derive(Clone)]
pub struct ReplayGuard {
    marks: Arc<dyn Marks>,
    ttl_secs: u64,
}

impl ReplayGuard {
    /// `ttl_secs`: longer than the signature's accepted clock skew, both ways.
    pub fn new(marks: Arc<dyn Marks>, ttl_secs: u64) -> Self {
        ReplayGuard { marks, ttl_secs }
    }

    /// Admit a request whose signature was verified; refuse it if it was seen before.
    pub async fn admit(&self, signature: &str) -> Result<(), Replay> {
        let mark = Mark::Signature(signature.trim().to_string());
        match self.marks.put(&mark, self.ttl_secs).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Replay::Replayed),
            Err(e) => Err(Replay::Unavailable(e)),
        }
    }
}
