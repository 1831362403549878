//! Ring-all: the winning key press → both losers' calls hung up at the Twilio fake, over
//! escalations whose one policy step rings Alice, Bob and Carol at once (`"ring": "all"`).
//!
//! Each escalation is started and its three (held) calls are placed; Alice's press of 1 is
//! posted to call-decision over HTTP (its function URL, served locally) as Studio's HTTP
//! Request widget sends it. The clock starts when the request is sent and stops when the
//! fake has recorded both Bob's and Carol's live calls as ended through the Calls API,
//! watched by a task of its own. One conditional PutItem to the same moto is the unit.

use crate::decision::{
    alice_presses_1, finish, held_options, press_form, watch_until, with_call_decision,
};
use crate::probe::put_items;
use escalation_devtools::stack::{ALICE, BOB, CAROL, Stack, StackOptions};
use escalation_fakes::twilio::{AgentStep, ExecutionRecord, TwilioHandle};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct RingRun {
    pub samples: usize,
    /// Winning press → both losers' calls hung up.
    pub hung_up: Vec<Duration>,
    /// One conditional PutItem to the same moto.
    pub put_item: Vec<Duration>,
    /// Escalations whose losers were not both hung up in time (each one is a failure).
    pub missing: usize,
}

/// Alice, Bob and Carol (the test roster's numbers) in one ring-all step.
fn ring_all_policy() -> String {
    serde_json::json!({
        "people": {
            "alice": {"name": "Alice Agent", "phone": ALICE, "sn_user": "alice.agent"},
            "bob": {"name": "Bob Agent", "phone": BOB, "sn_user": "bob.agent"},
            "carol": {"name": "Carol Manager", "phone": CAROL, "sn_user": "carol.manager"}
        },
        "default": {"steps": [{"people": ["alice", "bob", "carol"], "ring": "all", "redials": 0}]}
    })
    .to_string()
}

pub async fn run(samples: usize) -> RingRun {
    let (stack, url) = with_call_decision(StackOptions {
        roster_json: ring_all_policy(),
        ..held_options(Vec::new())
    })
    .await;
    alice_presses_1(&stack);
    for loser in [BOB, CAROL] {
        stack
            .twilio
            .script(loser, vec![AgentStep::NoAnswer { after_ms: 60_000 }]);
    }
    let http = reqwest::Client::new();
    let mut out = RingRun {
        samples,
        hung_up: Vec::new(),
        put_item: Vec::new(),
        missing: 0,
    };
    for i in 0..samples {
        let id = format!("{:032x}", 0x5a11_0000_u64 + i as u64);
        let number = format!("INC{:07}", 510_000 + i);
        match sample(&stack, &http, &url, &id, &number).await {
            Some(d) => out.hung_up.push(d),
            None => out.missing += 1,
        }
    }
    out.put_item = put_items(&stack, samples.max(20)).await;
    out
}

/// Start an escalation and wait for its three (held) calls; Alice's first.
async fn calls(stack: &Stack, id: &str, number: &str) -> Option<Vec<ExecutionRecord>> {
    let (status, _) = stack.trigger(id, number, "Checkout down", "1").await;
    if status != 202 {
        return None;
    }
    stack.drain_dials().await;
    let mut calls: Vec<ExecutionRecord> = stack
        .twilio
        .executions()
        .into_iter()
        .filter(|e| e.parameters["sys_id"] == id)
        .collect();
    calls.sort_by_key(|e| e.to != ALICE);
    (calls.len() == 3 && calls[0].to == ALICE).then_some(calls)
}

/// Watches the fake until every one of `losers` has had its live call ended through the
/// Calls API; how long after `from` that was.
fn watch(
    twilio: TwilioHandle,
    losers: Vec<String>,
    from: Instant,
) -> tokio::task::JoinHandle<Option<Duration>> {
    watch_until(from, move || {
        let hang_ups = twilio.hang_ups();
        losers.iter().all(|sid| {
            hang_ups
                .iter()
                .any(|h| h.execution_sid.as_deref() == Some(sid) && h.ended_a_live_call())
        })
    })
}

async fn sample(
    stack: &Stack,
    http: &reqwest::Client,
    url: &str,
    id: &str,
    number: &str,
) -> Option<Duration> {
    let calls = calls(stack, id, number).await?;
    let winner = &calls[0];
    let form = press_form(winner, id, "1");
    let losers = calls[1..].iter().map(|e| e.sid.clone()).collect();
    let pressed = Instant::now();
    let watcher = watch(stack.twilio.clone(), losers, pressed);
    let answered = http.post(url).form(&form).send().await.ok();
    let took = if answered.is_some_and(|a| a.status().is_success()) {
        watcher.await.ok().flatten()
    } else {
        watcher.abort();
        None
    };
    // The winner's call ends; every flow-end event is then a duplicate.
    finish(stack, &winner.sid, id).await;
    took
}
