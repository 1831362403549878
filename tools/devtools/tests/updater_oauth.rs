//! incident-updater signing in to ServiceNow with OAuth client credentials (the secret's
//! `servicenow_client_id` / `servicenow_client_secret`, no username or password): the
//! Table API sees bearer tokens only, one token serves while it is good, a token the
//! instance stops taking is replaced once without writing a note twice, and a wrong client
//! fails the update with an error that names the fields.

mod support;

use aws_lambda_events::event::sqs::SqsEvent;
use escalation_devtools::stack::{ALICE, Stack, StackOptions, oauth_secret_json, user_sys_id};
use escalation_fakes::RecordedRequest;
use serde_json::{Value, json};
use support::{SETTLE, fault, press};

const CLIENT_ID: &str = "6a2f0c1e9b8d4e7fa3c5b1d0e9f8a7b6";
const CLIENT_SECRET: &str = "oauth-client-secret-value";

fn sys_id(n: u32) -> String {
    format!("{:032x}", 0x0a07_0000 + n)
}

/// A stack whose secret holds the OAuth client `client_secret` (and no password), on a
/// ServiceNow fake that registered the right client with tokens living `lifetime_secs`.
async fn oauth_stack(client_secret: &str, lifetime_secs: u64) -> Stack {
    let stack = Stack::start_with_secret(
        StackOptions::default(),
        &oauth_secret_json(CLIENT_ID, client_secret),
    )
    .await;
    stack
        .sn
        .enable_oauth(CLIENT_ID, CLIENT_SECRET, lifetime_secs);
    stack
}

/// Trigger incident `n` and take the update it queued (the started note), undelivered.
async fn started_update(stack: &Stack, n: u32) -> (String, Value) {
    let id = sys_id(n);
    stack
        .trigger(&id, &format!("INC00700{n:02}"), "Payroll export", "1")
        .await;
    let sqs = escalation_devtools::esm::SqsPoller::new(
        aws_sdk_sqs::Client::new(&stack.sdk),
        &stack.resources.queue_url,
    )
    .await;
    (id, sqs.next_batch().await.expect("a queued update"))
}

fn table_api(stack: &Stack) -> Vec<RecordedRequest> {
    stack
        .sn
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/now/"))
        .collect()
}

/// Alice takes incident `n`: the started and the accepted notes are queued and written.
async fn accepted(stack: &Stack, n: u32) -> String {
    stack.twilio.script(ALICE, vec![press("1")]);
    let id = sys_id(n);
    stack
        .trigger(&id, &format!("INC00700{n:02}"), "Payroll export", "1")
        .await;
    stack.settle(&[&id], SETTLE).await;
    id
}

/// The started and the accepted note, each exactly once.
fn written_once(stack: &Stack, id: &str) {
    let notes = stack.sn.work_notes(id);
    assert_eq!(notes.len(), 2, "{notes:#?}");
    assert!(notes[0].contains("Phone escalation started"), "{notes:#?}");
    assert!(notes[1].contains("ACCEPTED by Alice Agent"), "{notes:#?}");
}

#[tokio::test]
async fn the_updater_writes_with_a_bearer_token_only_and_keeps_it_while_it_is_good() {
    let stack = oauth_stack(CLIENT_SECRET, 1800).await;
    let id = accepted(&stack, 1).await;
    written_once(&stack, &id);
    let incident = stack.sn.incident(&id).expect("the incident");
    assert_eq!(incident["state"], "2");
    assert_eq!(incident["assigned_to"], user_sys_id("alice.agent"));
    let requests = table_api(&stack);
    assert!(requests.len() >= 2, "{requests:#?}");
    for r in &requests {
        let auth = r.header("authorization").unwrap_or_default();
        assert!(
            auth.starts_with("Bearer ") && !auth.contains("Basic"),
            "{} {} sent {auth:?}",
            r.method,
            r.path
        );
    }
    assert_eq!(stack.sn.tokens_issued(), 1, "one token for every write");
}

#[tokio::test]
async fn a_token_that_stops_working_mid_run_is_replaced_once_and_the_note_written_once() {
    let stack = oauth_stack(CLIENT_SECRET, 1800).await;
    stack.twilio.script(ALICE, vec![press("1")]);
    let id = sys_id(2);
    stack
        .trigger(&id, "INC0070002", "Payroll export", "1")
        .await;
    stack.pump_sqs().await.expect("the started note's update");
    assert_eq!(stack.sn.work_notes(&id).len(), 1);
    assert_eq!(stack.sn.tokens_issued(), 1);

    // The instance forgets the token the updater keeps (revoked, or the instance restarted).
    stack.sn.expire_tokens();
    stack.settle(&[&id], SETTLE).await;

    assert_eq!(stack.sn.tokens_issued(), 2, "one new token, asked for once");
    written_once(&stack, &id);
    // The first request after the expiry is refused, and sent again with the new token.
    let requests = table_api(&stack);
    let refused: Vec<usize> = (0..requests.len())
        .filter(|&i| requests[i].status == 401)
        .collect();
    assert_eq!(refused.len(), 1, "{requests:#?}");
    let (first, again) = (&requests[refused[0]], &requests[refused[0] + 1]);
    assert_eq!(
        (&again.method, &again.path, &again.query, again.status),
        (&first.method, &first.path, &first.query, 200)
    );
    assert_ne!(first.header("authorization"), again.header("authorization"));
    let patches = requests.iter().filter(|r| r.method == "PATCH").count();
    assert_eq!(patches, 2, "each note PATCHed once: {requests:#?}");
}

/// A write refused with 401 (its token no longer taken) was not carried out: it is sent once
/// more with a new token, and the note is there once.
#[tokio::test]
async fn a_write_refused_with_401_is_sent_once_more_with_a_new_token() {
    let stack = oauth_stack(CLIENT_SECRET, 1800).await;
    stack
        .sn
        .inject(fault("PATCH", Some("/incident/"), 401, 1, None));
    let id = accepted(&stack, 4).await;
    written_once(&stack, &id);
    let patches: Vec<u16> = table_api(&stack)
        .iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| r.status)
        .collect();
    assert_eq!(patches, [401, 200, 200]);
    assert_eq!(stack.sn.tokens_issued(), 2);
}

#[tokio::test]
async fn a_token_living_less_than_the_margin_is_not_kept() {
    // ServiceNow says 60 s; the client renews 60 s early, so each request asks anew.
    let stack = oauth_stack(CLIENT_SECRET, 60).await;
    let id = accepted(&stack, 3).await;
    written_once(&stack, &id);
    let requests = table_api(&stack).len();
    assert!(requests >= 2);
    assert_eq!(stack.sn.tokens_issued(), requests);
}

#[tokio::test]
async fn a_wrong_oauth_client_fails_the_update_with_an_error_naming_the_fields() {
    let stack = oauth_stack("an-old-client-secret", 1800).await;
    let (id, batch) = started_update(&stack, 7).await;
    let resp = stack.invoke_updater(batch.clone()).await;
    let message_id = batch["Records"][0]["messageId"].clone();
    assert_eq!(
        resp["batchItemFailures"],
        json!([{ "itemIdentifier": message_id }]),
        "the update stays queued"
    );
    let event: SqsEvent = serde_json::from_value(batch).expect("SQS event");
    let error = stack
        .updater
        .apply(&event.records[0])
        .await
        .expect_err("no token, no write")
        .to_string();
    assert!(
        error.contains("servicenow_client_id") && error.contains("servicenow_client_secret"),
        "{error}"
    );
    assert!(error.contains("refused the OAuth client"), "{error}");
    assert!(!error.contains("an-old-client-secret"), "{error}");
    assert_eq!(stack.sn.tokens_issued(), 0);
    assert!(
        table_api(&stack).is_empty(),
        "nothing reached the Table API"
    );
    assert!(stack.sn.work_notes(&id).is_empty());
}
