//! What the storm measures beside its run: the cost of one conditional PutItem on the same
//! moto, and each escalation's time to its first ring.

use crate::count::{Calls, counting_into};
use escalation_core::escalation::Escalation;
use escalation_devtools::stack::Stack;
use escalation_lambda::handlers::Trigger;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// `n` incident-trigger containers built as [`Stack::container`] builds them, each with its
/// own HTTP client and connections, all recording their AWS requests into the one
/// [`Calls`] returned.
pub fn trigger_containers(stack: &Stack, n: usize) -> (Vec<Trigger>, Calls) {
    let calls = Calls::default();
    let triggers = (0..n)
        .map(|_| {
            let mut aws = stack.aws.clone();
            aws.sdk = counting_into(&stack.aws.sdk, &calls);
            let mut parts =
                escalation_lambda::wiring::EngineParts::build(&stack.config, &aws).expect("engine");
            parts.clock = stack.clock.clone();
            parts
                .trigger(&aws, &stack.resources.dial_queue_url)
                .expect("trigger")
        })
        .collect();
    (triggers, calls)
}

/// Conditional PutItems (a new key each, `attribute_not_exists`) to the storm's table,
/// every 20 ms while `probing`: what the trigger's one unavoidable write costs on this moto
/// under this load.
pub async fn put_item_probe(stack: Arc<Stack>, probing: Arc<AtomicBool>) -> Vec<Duration> {
    let ddb = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let mut took = Vec::new();
    while probing.load(Ordering::Relaxed) {
        took.extend(conditional_put(&ddb, &stack.resources.table).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    took
}

/// `n` conditional PutItems one after another: the unit the hot path is compared with.
pub async fn put_items(stack: &Stack, n: usize) -> Vec<Duration> {
    let ddb = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let mut took = Vec::new();
    for _ in 0..n {
        took.extend(conditional_put(&ddb, &stack.resources.table).await);
    }
    took
}

/// One conditional PutItem of a new key (`attribute_not_exists`); how long it took.
async fn conditional_put(ddb: &aws_sdk_dynamodb::Client, table: &str) -> Option<Duration> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let key = format!("bench#probe#{}", uuid::Uuid::new_v4().simple());
    let t = Instant::now();
    ddb.put_item()
        .table_name(table)
        .item("pk", AttributeValue::S(key))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .ok()
        .map(|_| t.elapsed())
}

/// For each escalation: from its creation to its first call's create at the fake.
pub fn first_rings(
    finished: &[Escalation],
    executions: &[escalation_fakes::twilio::ExecutionRecord],
) -> Vec<Duration> {
    let mut first: HashMap<&str, u64> = HashMap::new();
    for e in executions {
        if let Some(id) = e.parameters["escalation_id"].as_str() {
            let at = first.entry(id).or_insert(e.created_at_ms);
            *at = (*at).min(e.created_at_ms);
        }
    }
    finished
        .iter()
        .filter_map(|esc| {
            let at = first.get(esc.id().as_str())?;
            Some(Duration::from_millis(at.saturating_sub(esc.created_at())))
        })
        .collect()
}
