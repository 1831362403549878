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
    let mut first: HashMap<String, u64> = HashMap::new();
    for e in executions {
        for (id, _) in called_attempts(e) {
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

/// The attempts an execution was placed for, `(escalation id, attempt)`: its own, then the
/// other members of a bundle call (its `bundle` parameter, `<escalation_id>:<sys_id>:<attempt>;…`).
pub fn called_attempts(e: &escalation_fakes::twilio::ExecutionRecord) -> Vec<(String, u64)> {
    let own = e.parameters["escalation_id"].as_str().map(|id| {
        (
            id.to_string(),
            e.parameters["attempt"].as_u64().unwrap_or(0),
        )
    });
    let members = e.parameters["bundle"]
        .as_str()
        .unwrap_or("")
        .split(';')
        .filter_map(|m| {
            let mut parts = m.split(':');
            let id = parts.next()?.to_string();
            let attempt = parts.nth(1)?.parse().ok()?;
            Some((id, attempt))
        });
    own.into_iter().chain(members).collect()
}

/// Print up to three attempts that were dialled more than once, with their calls and what
/// the escalation recorded.
pub async fn show_duplicates(
    stack: &Stack,
    executions: &[escalation_fakes::twilio::ExecutionRecord],
    per_attempt: &HashMap<(String, u64), usize>,
) {
    let t_start = executions
        .iter()
        .map(|e| e.created_at_ms)
        .min()
        .unwrap_or(0);
    for (key, _) in per_attempt.iter().filter(|(_, n)| **n > 1).take(3) {
        let (esc_id, attempt) = key;
        let of_it: Vec<_> = executions
            .iter()
            .filter(|e| called_attempts(e).contains(key))
            .collect();
        let calls: Vec<String> = of_it
            .iter()
            .map(|e| {
                format!(
                    "{} to {} at +{} ms",
                    e.sid,
                    escalation_core::model::E164::parse(&e.to)
                        .map(|p| p.masked())
                        .unwrap_or_default(),
                    e.created_at_ms - t_start
                )
            })
            .collect();
        let sys_id = of_it
            .iter()
            .find(|e| e.parameters["escalation_id"].as_str() == Some(esc_id.as_str()))
            .and_then(|e| e.parameters["sys_id"].as_str().map(str::to_string))
            .unwrap_or_default();
        let recorded = stack.escalation(&sys_id).await.and_then(|s| {
            s.escalation
                .history()
                .iter()
                .find(|h| u64::from(h.number) == *attempt)
                .map(|h| format!("{:?} {:?}", h.execution_sid, h.outcome))
        });
        eprintln!(
            "[bench] storm: escalation {esc_id} attempt {attempt} dialled {} times: {}; recorded: {}",
            calls.len(),
            calls.join("; "),
            recorded.unwrap_or_else(|| "-".into())
        );
    }
}
