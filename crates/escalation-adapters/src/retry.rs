//! Retries with exponential backoff and full jitter (backon), honouring `Retry-After`.

use backon::{ExponentialBuilder, Retryable};
use std::future::Future;
use std::time::Duration;

/// Errors that know whether another try may succeed.
pub trait Transient {
    /// 429, 5xx, timeouts, connection errors.
    fn is_transient(&self) -> bool;
    /// The server's `Retry-After`, if it sent one.
    fn retry_after(&self) -> Option<Duration> {
        None
    }
}

#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// Retries after the first try.
    pub max_retries: usize,
    /// A `Retry-After` longer than this is not waited for inside one invocation: the error
    /// is returned and the queue or stream redelivers later.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_retries: 4,
            max_retry_after: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// No retries at all (tests that want to see the first error).
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// Fast retries for tests against local fakes.
    pub fn fast() -> Self {
        RetryPolicy {
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
            max_retries: 4,
            max_retry_after: Duration::from_secs(2),
        }
    }

    /// Run `op` until it succeeds, fails permanently, or the retries run out.
    pub async fn run<T, E, F, Fut>(&self, op: F) -> Result<T, E>
    where
        E: Transient + std::fmt::Display,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_retries)
            .with_jitter();
        let cap = self.max_retry_after;
        op.retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|e: &E| e.is_transient())
            .adjust(move |e: &E, planned| match (e.retry_after(), planned) {
                (_, None) => None,
                (Some(wait), Some(_)) if wait > cap => None,
                (Some(wait), Some(_)) => Some(wait),
                (None, planned) => planned,
            })
            .notify(|e: &E, wait| tracing::warn!(error = %e, wait_ms = wait.as_millis() as u64, "transient failure, retrying"))
            .await
    }
}

/// Parse a `Retry-After` header given in seconds (ServiceNow and Twilio both use seconds).
pub fn parse_retry_after(value: Option<&reqwest::header::HeaderValue>) -> Option<Duration> {
    value?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[derive(Debug)]
    struct E {
        transient: bool,
        after: Option<Duration>,
    }
    impl std::fmt::Display for E {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "e")
        }
    }
    impl Transient for E {
        fn is_transient(&self) -> bool {
            self.transient
        }
        fn retry_after(&self) -> Option<Duration> {
            self.after
        }
    }

    #[tokio::test]
    async fn retries_transient_until_success() {
        let n = AtomicU32::new(0);
        let r: Result<u32, E> = RetryPolicy::fast()
            .run(|| async {
                let i = n.fetch_add(1, Ordering::SeqCst);
                if i < 2 {
                    Err(E {
                        transient: true,
                        after: None,
                    })
                } else {
                    Ok(i)
                }
            })
            .await;
        assert_eq!(r.unwrap(), 2);
        assert_eq!(n.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn does_not_retry_permanent_errors() {
        let n = AtomicU32::new(0);
        let r: Result<(), E> = RetryPolicy::fast()
            .run(|| async {
                n.fetch_add(1, Ordering::SeqCst);
                Err(E {
                    transient: false,
                    after: None,
                })
            })
            .await;
        assert!(r.is_err());
        assert_eq!(n.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn honours_retry_after_and_gives_up_when_too_long() {
        let n = AtomicU32::new(0);
        let started = std::time::Instant::now();
        let r: Result<(), E> = RetryPolicy::fast()
            .run(|| async {
                let i = n.fetch_add(1, Ordering::SeqCst);
                if i == 0 {
                    Err(E {
                        transient: true,
                        after: Some(Duration::from_millis(300)),
                    })
                } else {
                    Err(E {
                        transient: true,
                        after: Some(Duration::from_secs(60)),
                    })
                }
            })
            .await;
        assert!(r.is_err());
        assert_eq!(
            n.load(Ordering::SeqCst),
            2,
            "waited once for Retry-After, then gave up on 60 s"
        );
        assert!(
            started.elapsed() >= Duration::from_millis(300),
            "Retry-After was honoured"
        );
    }
}
