//! Helpers the end-to-end tests share: incident ids, agent steps, fault rules, and what the
//! fakes saw (numbers dialled, PATCHes, Kinesis records). Each test file includes it with
//! `mod support;` and uses its own part of it.
#![allow(dead_code)]

use escalation_devtools::stack::{Stack, StackOptions, user_sys_id};
use escalation_fakes::FaultRule;
use escalation_fakes::twilio::{AgentStep, ExecutionRecord, TwilioHandle};
use serde_json::Value;
use std::time::Duration;

/// How long a stack may take to settle in these tests.
pub const SETTLE: Duration = Duration::from_secs(30);

/// The CloudEvent type of a finished Studio execution.
pub const EXECUTION_ENDED: &str = "com.twilio.studio.flow.execution.ended";

/// Where the sys_ids of the fault-injection scenarios start, apart from the walk's.
pub const FAULT_IDS: u32 = 0xfa00;

/// An incident sys_id: `n` in 32 hex digits.
pub fn sys_id(n: u32) -> String {
    format!("{n:032x}")
}

/// Now, in milliseconds since the epoch.
pub fn now() -> u64 {
    escalation_adapters::clock::now_ms()
}

/// The agent answers and presses `digit` at once.
pub fn press(digit: &str) -> AgentStep {
    press_after(digit, 0)
}

/// The agent answers and presses `digit` after `after_ms`.
pub fn press_after(digit: &str, after_ms: u64) -> AgentStep {
    AgentStep::Press {
        digit: digit.into(),
        after_ms,
    }
}

/// The agent does not answer.
pub fn no_answer() -> AgentStep {
    AgentStep::NoAnswer { after_ms: 0 }
}

/// Fail the next `times` requests matching method and path with `status`.
pub fn fault(
    method: &str,
    path: Option<&str>,
    status: u16,
    times: u32,
    retry_after_secs: Option<u64>,
) -> FaultRule {
    FaultRule {
        method: Some(method.into()),
        path_contains: path.map(str::to_string),
        status,
        retry_after_secs,
        times,
        ..Default::default()
    }
}

/// A fake answering `status` to every `method` request on a path containing `path`, for as
/// long as a test needs (until `clear_faults`).
pub fn down(method: &str, path: &str, status: u16) -> FaultRule {
    fault(method, Some(path), status, 1_000, None)
}

/// Phone numbers the Twilio fake was asked to call, in order.
pub fn dialled(stack: &Stack) -> Vec<String> {
    numbers_called(&stack.twilio, |_| true)
}

/// Phone numbers the Twilio fake was asked to call for one incident, in order.
pub fn dialled_for(twilio: &TwilioHandle, sys_id: &str) -> Vec<String> {
    numbers_called(twilio, |parameters| parameters["sys_id"] == sys_id)
}

fn numbers_called(twilio: &TwilioHandle, of: impl Fn(&Value) -> bool) -> Vec<String> {
    let mut ex: Vec<_> = twilio
        .executions()
        .into_iter()
        .filter(|e| of(&e.parameters))
        .collect();
    ex.sort_by_key(|e| e.created_at_ms);
    ex.into_iter().map(|e| e.to).collect()
}

/// What the person on an execution heard, in order.
pub fn said(e: &ExecutionRecord) -> Vec<&str> {
    e.heard.iter().map(|h| h.text.as_str()).collect()
}

/// The non-empty `assigned_to` values ServiceNow was sent for an incident, in order.
pub fn assignments(stack: &Stack, sys_id: &str) -> Vec<String> {
    patches(stack, sys_id)
        .iter()
        .filter_map(|p| {
            p.get("assigned_to")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .filter(|v| !v.is_empty())
        .collect()
}

/// PATCH requests ServiceNow received for an incident.
pub fn patches(stack: &Stack, sys_id: &str) -> Vec<Value> {
    stack
        .sn
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH" && r.path.ends_with(sys_id))
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect()
}

/// The `execution.ended` records of a list of Kinesis records.
pub fn ended_records(records: &[Value]) -> Vec<Value> {
    records
        .iter()
        .filter(|r| Stack::record_event(r)["type"] == EXECUTION_ENDED)
        .cloned()
        .collect()
}

/// A stack whose simulated agents never end a call by themselves: the test completes each
/// call (and so decides when its events exist).
pub async fn held_stack() -> Stack {
    Stack::start(StackOptions {
        auto_end: false,
        ..Default::default()
    })
    .await
}

/// Completes the active call `sid` at the fake and takes every Kinesis record written so
/// far; returns the `execution.ended` ones (without handling any).
pub async fn complete(stack: &Stack, sid: &str) -> Vec<Value> {
    stack.twilio.complete(sid).await.unwrap();
    ended_records(&stack.take_kinesis_records().await)
}

/// Messages waiting in the queue at `url` (the update queue or its DLQ).
pub async fn queue_depth(stack: &Stack, url: &str) -> u64 {
    escalation_devtools::esm::queue_depth(&aws_sdk_sqs::Client::new(&stack.sdk), url).await
}

/// Wait until no call is active at Twilio (the simulated agents have done their part).
pub async fn calls_over(stack: &Stack) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while stack
        .twilio
        .executions()
        .iter()
        .any(|e| e.status == "active")
    {
        assert!(std::time::Instant::now() < deadline, "a call never ended");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The four people of the policy and On-Call tests: (user name, name, phone).
pub const ANA: &str = "+14155550101";
pub const BEN: &str = "+14155550102";
pub const CARA: &str = "+14155550103";
pub const DAN: &str = "+14155550104";
const PEOPLE: [(&str, &str, &str); 4] = [
    ("ana.ortiz", "Ana Ortiz", ANA),
    ("ben.okafor", "Ben Okafor", BEN),
    ("cara.diaz", "Cara Diaz", CARA),
    ("dan.wu", "Dan Wu", DAN),
];

/// Ana, Ben, Cara and Dan as ServiceNow users of `stack`'s instance.
pub fn add_people(stack: &Stack) {
    for (user, name, phone) in PEOPLE {
        stack.sn.add_user(&user_sys_id(user), user, name, phone);
    }
}

pub async fn stack_with_decisions(up: bool) -> Stack {
    stack_with_decisions_and(up, StackOptions::default()).await
}

/// A stack with `options` whose flow reports keys to call-decision at once (served on a
/// local port, as its function URL would be); `up: false`: the URL answers nothing.
pub async fn stack_with_decisions_and(up: bool, options: StackOptions) -> Stack {
    let (listener, url) = escalation_devtools::decision_url::bind().await;
    let mut options = options;
    options.env.push(("DECISION_URL", url));
    let stack = Stack::start(options).await;
    if up {
        let decision = stack
            .parts
            .call_decision(&stack.aws, &stack.resources.dial_queue_url)
            .expect("call-decision");
        escalation_devtools::decision_url::serve(listener, decision);
    } else {
        drop(listener);
    }
    stack
}
