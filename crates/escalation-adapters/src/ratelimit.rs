//! Outbound rate limits for Twilio execution creates (Studio allows 20 new REST
//! executions per second per account; over it answers 429): the [`CreateRate`] every
//! create waits on, and [`RateLimiter`], a limit within one process (tools and tests). The
//! functions share one limit across all their containers (`aws::rate::DynamoRate`).

use async_trait::async_trait;
use std::collections::VecDeque;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// A sliding-window limit: at most `per_sec` grants in any one-second window, bursts
/// allowed (the first `per_sec` go at once). Exact, unlike a token bucket, whose refill
/// would let up to twice the rate through in the first second of a storm.
#[derive(Debug)]
pub struct RateLimiter {
    per_sec: usize,
    granted: Mutex<VecDeque<Instant>>,
}

impl RateLimiter {
    pub fn new(per_sec: u32) -> Self {
        RateLimiter {
            per_sec: per_sec.max(1) as usize,
            granted: Mutex::new(VecDeque::new()),
        }
    }

    pub fn per_sec(&self) -> u32 {
        self.per_sec as u32
    }

    /// Wait until a grant keeps the window within the limit, then take it.
    pub async fn acquire(&self) {
        let window = Duration::from_secs(1);
        loop {
            let wait = {
                let mut granted = self.granted.lock().await;
                let now = Instant::now();
                while granted
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= window)
                {
                    granted.pop_front();
                }
                if granted.len() < self.per_sec {
                    granted.push_back(now);
                    return;
                }
                *granted.front().expect("full window") + window - now
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// A limit on execution creates that every create waits on.
#[async_trait]
pub trait CreateRate: Send + Sync + std::fmt::Debug {
    /// Wait for a slot under the limit, then take it. An error names what failed (the
    /// shared limit's store unreachable); nothing was created.
    async fn acquire(&self) -> Result<(), String>;
    /// Creates per second the limit allows.
    fn per_sec(&self) -> u32;
}

#[async_trait]
impl CreateRate for RateLimiter {
    async fn acquire(&self) -> Result<(), String> {
        RateLimiter::acquire(self).await;
        Ok(())
    }
    fn per_sec(&self) -> u32 {
        RateLimiter::per_sec(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn never_exceeds_the_rate_in_any_second() {
        let limiter = std::sync::Arc::new(RateLimiter::new(20));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let l = limiter.clone();
            tasks.push(tokio::spawn(async move {
                l.acquire().await;
                Instant::now().duration_since(start)
            }));
        }
        let mut times = Vec::new();
        for t in tasks {
            times.push(t.await.unwrap());
        }
        times.sort();
        // Any window of one second holds at most 20 starts (+ the initial burst of 20).
        for (i, t) in times.iter().enumerate() {
            let in_window = times[i..]
                .iter()
                .take_while(|u| **u < *t + Duration::from_secs(1))
                .count();
            assert!(in_window <= 21, "{in_window} grants within 1 s from {t:?}");
        }
        // 100 grants at 20/s with a burst of 20 need about 4 s of (paused, virtual) time.
        assert!(*times.last().unwrap() >= Duration::from_millis(3900));
    }
}
