//! The account-wide Twilio create rate, shared by every container through one DynamoDB
//! item: a line of create slots `gap` milliseconds apart.
//!
//! The item `rate#<name>` holds `next`, the moment (unix ms) of the first free slot. A
//! creator takes the next slot with one conditional update (`next = next + gap` while the
//! line is running and not longer than [`MAX_AHEAD_MS`]; or `next = now + gap` when the
//! line has run dry) and sleeps until its slot. Each slot is handed out once, whichever
//! container asks, so however many containers create executions together, two creates are
//! never closer than `gap`: at most `per_sec` in any one-second window. The slot is taken
//! before the wait, so a waiting create keeps its place in the line.
//!
//! `gap` is `1000 / per_sec` milliseconds plus a fifth ([`SLACK_PERCENT`]): a request
//! leaves a moment after its slot starts (a busy container wakes late) and reaches Twilio
//! after a network delay that varies (a cold container first opens its connection), and
//! the slack keeps that variation (up to a fifth of
//! a second across `per_sec + 1` slots) from squeezing `per_sec + 1` creates into one
//! second at Twilio's end. At 20/s that paces creates at 16.7 a second.

use crate::ratelimit::CreateRate;
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A slot is never taken further ahead than this: with more creates waiting, a creator
/// waits for the line to shorten before it joins (the dial queue holds the rest).
pub const MAX_AHEAD_MS: u64 = 10_000;

/// Added to every slot's length, in percent of it (see the module's comment).
pub const SLACK_PERCENT: u64 = 20;

#[derive(Debug)]
pub struct DynamoRate {
    client: Client,
    table: String,
    key: String,
    per_sec: u32,
    gap_ms: u64,
    /// The line's end as last seen, to try the likelier of the two updates first.
    last_next: AtomicU64,
    /// One update of the line at a time from this container: the item is hot in a storm,
    /// and a container's tasks gain nothing by racing each other for it.
    taking: tokio::sync::Mutex<()>,
}

impl DynamoRate {
    /// A line named `name` (the item `rate#<name>`) of `per_sec` creates per second.
    pub fn new(client: Client, table: &str, name: &str, per_sec: u32) -> Self {
        let per_sec = per_sec.max(1);
        DynamoRate {
            client,
            table: table.to_string(),
            key: format!("rate#{name}"),
            per_sec,
            gap_ms: (1000 * (100 + SLACK_PERCENT)).div_ceil(100 * per_sec as u64),
            last_next: AtomicU64::new(0),
            taking: tokio::sync::Mutex::new(()),
        }
    }

    /// The milliseconds between two slots.
    pub fn gap_ms(&self) -> u64 {
        self.gap_ms
    }

    /// Take a slot: `Ok(Some(start))`, or `Ok(None)` when neither update's condition held
    /// (someone else changed the line meanwhile, or the line is full); `next` is then the
    /// line's end as it was, if known.
    async fn take(&self, now: u64, join: bool) -> Result<Result<u64, Option<u64>>, String> {
        let n = |v: u64| AttributeValue::N(v.to_string());
        let req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(super::dynamo::KEY, AttributeValue::S(self.key.clone()))
            .expression_attribute_names("#n", "next")
            .expression_attribute_values(":now", n(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let req = if join {
            req.update_expression("SET #n = #n + :gap")
                .condition_expression("#n >= :now AND #n < :horizon")
                .expression_attribute_values(":gap", n(self.gap_ms))
                .expression_attribute_values(":horizon", n(now + MAX_AHEAD_MS))
                .return_values(ReturnValue::UpdatedOld)
        } else {
            req.update_expression("SET #n = :first")
                .condition_expression("attribute_not_exists(#n) OR #n < :now")
                .expression_attribute_values(":first", n(now + self.gap_ms))
        };
        let number = |item: Option<&std::collections::HashMap<String, AttributeValue>>| {
            item.and_then(|i| i.get("next"))
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<u64>().ok())
        };
        match req.send().await {
            Ok(out) if join => {
                let start = number(out.attributes.as_ref()).ok_or("the rate item has no next")?;
                self.last_next.store(start + self.gap_ms, Ordering::Relaxed);
                Ok(Ok(start))
            }
            Ok(_) => {
                self.last_next.store(now + self.gap_ms, Ordering::Relaxed);
                Ok(Ok(now))
            }
            Err(e) => match e.as_service_error() {
                Some(s) if s.is_conditional_check_failed_exception() => {
                    let seen = match s {
                        aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c) => number(c.item.as_ref()),
                        _ => None,
                    };
                    if let Some(v) = seen {
                        self.last_next.store(v, Ordering::Relaxed);
                    }
                    Ok(Err(seen))
                }
                _ => Err(format!(
                    "the shared create rate (DynamoDB): {}",
                    aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                )),
            },
        }
    }
}

impl DynamoRate {
    /// One try at a slot: its start, or how long to wait before the next try.
    async fn try_slot(&self) -> Result<Result<u64, u64>, String> {
        let _turn = self.taking.lock().await;
        let now = crate::clock::now_ms();
        let join = self.last_next.load(Ordering::Relaxed) >= now;
        if let Ok(start) = self.take(now, join).await? {
            return Ok(Ok(start));
        }
        match self.take(now, !join).await? {
            Ok(start) => Ok(Ok(start)),
            // The line is full: wait until it has room. Otherwise it moved under us: again.
            Err(Some(next)) if next >= now + MAX_AHEAD_MS => {
                Ok(Err(next - (now + MAX_AHEAD_MS) + self.gap_ms))
            }
            Err(_) => Ok(Err(0)),
        }
    }
}

#[async_trait]
impl CreateRate for DynamoRate {
    async fn acquire(&self) -> Result<(), String> {
        loop {
            match self.try_slot().await? {
                Ok(start) => {
                    let now = crate::clock::now_ms();
                    if start > now {
                        tokio::time::sleep(Duration::from_millis(start - now)).await;
                    }
                    return Ok(());
                }
                Err(wait) => tokio::time::sleep(Duration::from_millis(wait)).await,
            }
        }
    }

    fn per_sec(&self) -> u32 {
        self.per_sec
    }
}
