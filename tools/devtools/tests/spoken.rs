//! What the agent hears: the incident text the Studio flow reads aloud arrives as plain
//! words, whatever markup its author typed.

mod support;

use escalation_devtools::stack::{ALICE, Stack, StackOptions};
use support::{SETTLE, press, sys_id};

#[tokio::test]
async fn hostile_descriptions_reach_the_call_as_plain_words() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.twilio.script(ALICE, vec![press("1")]);
    let cases = [
        ("R&D VPN down", "R and D VPN down"),
        (
            "<speak><prosody rate=\"x-slow\">Pay</prosody> now</speak>",
            "Pay now",
        ),
        (
            "Orders DB <b>down</b> & latency > 5 s",
            "Orders DB down and latency 5 s",
        ),
        ("line one\r\nline two", "line one line two"),
    ];
    for (i, (typed, heard)) in cases.iter().enumerate() {
        let id = sys_id(900 + i as u32);
        let (status, body) = stack
            .trigger(&id, &format!("INC00209{i:02}"), typed, "1")
            .await;
        assert_eq!(status, 202, "{body}");
        stack.settle(&[&id], SETTLE).await;
        let spoken = stack
            .twilio
            .executions()
            .into_iter()
            .find(|e| e.parameters["sys_id"] == id.as_str())
            .expect("a call was placed")
            .parameters["short_description"]
            .clone();
        assert_eq!(spoken, *heard, "typed {typed:?}");
    }
}
