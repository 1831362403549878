//! The Twilio create rate is the account's, not a container's: several containers creating
//! executions at once, each with its own Studio client, stay within TWILIO_CREATES_PER_SEC
//! together (the fake counts creates per second and answers 429 above 20/s), because they
//! take their slots from one line in the table (moto). Each container with only its own
//! limit of 20/s would trip it.

use escalation_adapters::aws::DynamoRate;
use escalation_adapters::retry::RetryPolicy;
use escalation_adapters::twilio::StudioClient;
use escalation_adapters::twilio::studio::NewExecution;
use escalation_devtools::stack::{API_KEY_SECRET, API_KEY_SID, FLOW_SID, FROM_NUMBER};
use escalation_devtools::stack::{Stack, StackOptions};
use escalation_lambda::wiring::CREATE_RATE_NAME;
use std::sync::Arc;

const CONTAINERS: usize = 4;
const CREATES_EACH: usize = 15;
const LIMIT: u32 = 20;

/// One container's Studio client (no retries: a 429 is an error here).
fn client(stack: &Stack) -> StudioClient {
    StudioClient::new(
        stack.aws.http.clone(),
        &stack.twilio.base_url(),
        FLOW_SID,
        API_KEY_SID,
        API_KEY_SECRET,
        RetryPolicy::none(),
    )
}

/// `CONTAINERS` × `CREATES_EACH` creates, all at once; returns how many Twilio refused.
async fn storm(clients: Vec<StudioClient>) -> usize {
    let mut tasks = Vec::new();
    for (c, client) in clients.into_iter().enumerate() {
        let client = Arc::new(client);
        for i in 0..CREATES_EACH {
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                client.reserve_create().await.expect("a create slot");
                let new = NewExecution {
                    to: format!("+1555077{c:02}{i:02}"),
                    from: FROM_NUMBER.into(),
                    parameters: serde_json::json!({}),
                };
                client.create_execution(&new).await.is_err()
            }));
        }
    }
    let mut refused = 0;
    for t in tasks {
        refused += usize::from(t.await.expect("create task"));
    }
    refused
}

/// The most creates the fake received within any one second.
fn max_per_second(stack: &Stack) -> usize {
    let mut at: Vec<u64> = stack
        .twilio
        .executions()
        .iter()
        .map(|e| e.created_at_ms)
        .collect();
    at.sort_unstable();
    (0..at.len())
        .map(|i| at[i..].iter().take_while(|t| **t < at[i] + 1000).count())
        .max()
        .unwrap_or(0)
}

/// One test, the two cases one after the other: moto serves concurrent conditional updates
/// of one item without DynamoDB's atomicity, so the storm runs alone on it.
#[tokio::test]
async fn containers_share_the_account_rate_where_limits_per_container_would_exceed_it() {
    let stack = Stack::start(StackOptions::default()).await;
    let mut clients = Vec::new();
    for _ in 0..CONTAINERS {
        let line = DynamoRate::new(
            aws_sdk_dynamodb::Client::new(&stack.sdk),
            &stack.resources.table,
            CREATE_RATE_NAME,
            LIMIT,
        );
        let client = client(&stack).with_create_limit(Arc::new(line));
        // A running container: its first slot taken (and its connections open) before the
        // storm.
        client.reserve_create().await.expect("a slot");
        clients.push(client);
    }
    let refused = storm(clients).await;
    let max = max_per_second(&stack);
    assert_eq!(
        refused, 0,
        "Twilio answered 429 (max {max} creates in a second)"
    );
    assert_eq!(stack.twilio.executions().len(), CONTAINERS * CREATES_EACH);
    assert!(max <= LIMIT as usize, "{max} creates within one second");

    // The same storm with a limit per container: together they go over the account's rate.
    let stack = Stack::start(StackOptions::default()).await;
    let clients = (0..CONTAINERS)
        .map(|_| client(&stack).with_create_rate(LIMIT))
        .collect();
    let refused = storm(clients).await;
    assert!(refused > 0, "the fake refused creates over 20/s");
}
