//! What the agent hears, through the real handlers and the Twilio fake walking the shipped
//! flow: the incident text arrives as plain words whatever markup its author typed; each
//! person hears the call in their roster language, word for word; * repeats, 9 reads the
//! full description, every choice is confirmed aloud.

mod support;

use escalation_core::model::CallOutcome;
use escalation_devtools::stack::{ALICE, BOB, Stack, StackOptions};
use escalation_fakes::twilio::AgentStep;
use serde_json::json;
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

/// A roster entry's `language` picks the words and the voice of the whole call. Bob (German)
/// hears everything again (*), the full description (9), accepts (1), and is told so;
/// Alice (no language: English) presses a key that is not a choice, hears the choices
/// again, passes (2), is asked why, says nothing, and is told she passed.
#[tokio::test]
async fn each_person_hears_the_call_in_their_language_word_for_word() {
    let roster = r#"{"agent_list":[
        {"name":"Alice Agent","phone_no":"+15550100001","sn_user":"alice.agent"},
        {"name":"Bob Agent","phone_no":"+15550100002","sn_user":"bob.agent","language":"de-DE"}],
      "escalation_list":[{"name":"Carol Manager","phone_no":"+15550100003","sn_user":"carol.manager"}]}"#;
    let stack = Stack::start(StackOptions {
        roster_json: roster.into(),
        ..Default::default()
    })
    .await;
    stack.twilio.script(ALICE, vec![keys("72")]);
    stack.twilio.script(BOB, vec![keys("*91")]);
    let id = sys_id(950);
    let description = "Orders database in Frankfurt rejects writes since the storage failover; \
                       checkout, refunds & the partner API fail for every request";
    stack.sn.add_incident(&id, "INC0010042", description, "1");
    let body = json!({
        "sys_id": id, "number": "INC0010042", "short_description": description,
        "priority": "1", "assignment_group": "287ebd7da9fe198100f92cc8d1d2154e",
        "assignment_group_name": "Database", "event_id": "e950",
    });
    let (status, answer) = stack
        .invoke_trigger(&stack.signed_event(&body.to_string(), "application/json"))
        .await;
    assert_eq!(status, 202, "{answer}");
    stack.settle(&[&id], SETTLE).await;

    let calls = stack.twilio.executions();
    assert_eq!(calls.len(), 2, "Alice passes, Bob accepts");
    let heard = |i: usize| -> Vec<(String, String, String)> {
        calls[i]
            .heard
            .iter()
            .map(|h| (h.text.clone(), h.language.clone(), h.voice.clone()))
            .collect()
    };
    let en = |t: &str| (t.to_owned(), "en-US".to_owned(), "Polly.Joanna".to_owned());
    let de = |t: &str| (t.to_owned(), "de-DE".to_owned(), "Polly.Marlene".to_owned());

    let en_details = "This is an urgent page for incident I N C, 0 0 1 0 0 4 2. Priority 1, critical. \
        Assignment group: Database. Orders database in Frankfurt rejects writes since the storage \
        failover; checkout, refunds and the partner API fail for … Press 9 to hear the full description.";
    let en_menu = "Press 1 to accept, 2 to pass to the next person, 3 to escalate. \
        Press star to hear everything again.";
    let en_call = format!("{en_details} {en_menu}");
    assert_eq!(
        heard(0),
        [
            en(&en_call),
            en("Sorry, that key is not one of the choices."),
            en(&en_call),
            en(
                "Before you go: press 1 if you are driving, 2 if you have no laptop with you, \
                3 if this is not your area."
            ),
            en("You passed incident I N C, 0 0 1 0 0 4 2 to the next person. Goodbye."),
        ]
    );

    let de_details = "Dies ist ein dringender Alarm für den Incident I N C, 0 0 1 0 0 4 2. \
        Priorität 1, kritisch. Zuständige Gruppe: Database. Orders database in Frankfurt rejects \
        writes since the storage failover; checkout, refunds and the partner API fail for … \
        Drücken Sie die 9, um die vollständige Beschreibung zu hören.";
    let de_menu = "Drücken Sie die 1, um anzunehmen, die 2, um an die nächste Person weiterzugeben, \
        die 3, um zu eskalieren. Drücken Sie die Sterntaste, um alles noch einmal zu hören.";
    let de_full = "Die vollständige Beschreibung: Orders database in Frankfurt rejects writes since \
        the storage failover; checkout, refunds and the partner API fail for every request.";
    assert_eq!(
        heard(1),
        [
            de(&format!("{de_details} {de_menu}")),
            de(&format!("{de_details} {de_menu}")),
            de(&format!("{de_full} {de_menu}")),
            de("Sie haben den Incident I N C, 0 0 1 0 0 4 2 angenommen. Vielen Dank."),
        ]
    );

    let esc = stack.escalation(&id).await.expect("stored").escalation;
    assert_eq!(esc.accepted_by(), Some("Bob Agent"), "the last key counts");
    assert_eq!(calls[1].parameters["language"], "de-DE");
}

/// Pressing * and then nothing is not a choice: the call counts as unanswered (no key).
#[tokio::test]
async fn hearing_it_again_and_then_silence_is_no_choice() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.twilio.script(ALICE, vec![keys("*"), press("1")]);
    let id = sys_id(951);
    assert_eq!(
        stack.trigger(&id, "INC0010043", "Disk full", "1").await.0,
        202
    );
    stack.settle(&[&id], SETTLE).await;
    let esc = stack.escalation(&id).await.expect("stored").escalation;
    assert_eq!(
        esc.history()[0].outcome,
        CallOutcome::NoKeypress,
        "{:?}",
        esc.history()
    );
    assert_eq!(
        esc.accepted_by(),
        Some("Alice Agent"),
        "redialled, then accepted"
    );
}

fn keys(keys: &str) -> AgentStep {
    AgentStep::Keys {
        keys: keys.into(),
        after_ms: 0,
    }
}
