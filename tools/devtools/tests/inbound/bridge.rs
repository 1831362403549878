//! The conference bridge: Alice accepts and presses 4; the flow hands her call to
//! voice-inbound's /bridge/open (the URL the dialer wrote, with its capability); she is put
//! into the incident's conference while Bob, the next of the lineup, is called through the
//! Calls API; his press 1 joins him; the conference's status callbacks end in one work note
//! with who was on the bridge and for how long.

use super::*;
use escalation_devtools::inbound_support::ACCOUNT;
use escalation_devtools::stack::StackOptions;
use escalation_fakes::twilio::AgentStep;

const CONF: &str = "CF0123456789abcdef0123456789abcdef";

async fn bridged_stack() -> InboundStack {
    let opts = StackOptions {
        env: vec![("BRIDGE_URL", BASE.to_string())],
        ..StackOptions::default()
    };
    InboundStack::start_with(test_config(), opts).await
}

fn keys(k: &str) -> AgentStep {
    AgentStep::Keys {
        keys: k.into(),
        after_ms: 0,
    }
}

/// One conference status callback as Twilio posts it.
async fn status(
    t: &InboundStack,
    url: &str,
    event: &str,
    seq: &str,
    call: &str,
    timestamp: &str,
) -> Reply {
    let mut p = vec![
        ("AccountSid", ACCOUNT),
        ("ConferenceSid", CONF),
        ("FriendlyName", "INC0010970-ESC"),
        ("StatusCallbackEvent", event),
        ("SequenceNumber", seq),
        ("Timestamp", timestamp),
    ];
    if !call.is_empty() {
        p.push(("CallSid", call));
    }
    t.post(url, &p).await
}

#[tokio::test]
async fn press_4_opens_a_bridge_calls_the_next_person_in_and_notes_who_was_on_it() {
    let t = bridged_stack().await;
    let s = &t.stack;
    s.twilio.script(ALICE, vec![keys("14")]);
    let id = sys_id_of(970);
    assert_eq!(
        s.trigger(&id, "INC0010970", "Orders DB down", "1").await.0,
        202
    );
    s.settle(&[&id], SETTLE).await;

    // Alice accepted as always (the flow ended at the redirect) and heard the offer.
    let esc = s.escalation(&id).await.unwrap().escalation;
    assert_eq!(esc.accepted_by(), Some("Alice Agent"));
    let alice = &s.twilio.executions()[0];
    let heard: Vec<&str> = alice.heard.iter().map(|h| h.text.as_str()).collect();
    assert_eq!(
        heard.last(),
        Some(&"To open a conference bridge and call the next person in, press 4 now.")
    );
    let open_url = alice
        .redirected_to
        .clone()
        .expect("a 4 hands the call over");
    assert!(
        open_url.starts_with(&format!("{BASE}/bridge/open?")),
        "{open_url}"
    );

    // A forged capability, or a valid one moved to another attempt, is refused.
    let forged = open_url.replace("&a=1&", "&a=2&");
    let r = t
        .post(&forged, &call_params(&alice.call_sid, ALICE, LINE, &[]))
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let cap_start = open_url.find("&c=").unwrap() + 3;
    let mut other = open_url.clone();
    other.replace_range(cap_start..cap_start + 4, "0000");
    let r = t
        .post(&other, &call_params(&alice.call_sid, ALICE, LINE, &[]))
        .await;
    assert_eq!(r.status, 403);
    assert!(
        s.twilio.calls().is_empty(),
        "a refused request calls nobody"
    );
    // A request not signed by Twilio is refused too.
    let unsigned = InboundStack::event(
        &open_url,
        "POST",
        "CallSid=CA1",
        "application/x-www-form-urlencoded",
        None,
    );
    assert_eq!(t.send(&unsigned).await.status, 403);

    // The genuine request: Alice is told and put into the conference; Bob is called.
    let open = t
        .post(&open_url, &call_params(&alice.call_sid, ALICE, LINE, &[]))
        .await;
    assert_eq!(open.status, 200, "{}", open.body);
    assert_eq!(
        open.said(),
        "Opening a conference bridge for incident I N C, 0 0 1 0 9 7 0. Calling Bob Agent in. Please stay on the line."
    );
    let conf = open.texts("Conference");
    assert_eq!(conf[0], format!("INC0010970-{}", esc.id()));
    assert_eq!(
        open.attrs("Conference", "statusCallbackEvent"),
        ["start end join leave"]
    );
    assert_eq!(open.attrs("Conference", "endConferenceOnExit"), ["true"]);
    let status_url = open.attrs("Conference", "statusCallback")[0].clone();
    let calls = s.twilio.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!((calls[0].to.as_str(), calls[0].from.as_str()), (BOB, LINE));
    // Opening again (a repeated request) calls nobody twice.
    t.post(&open_url, &call_params(&alice.call_sid, ALICE, LINE, &[]))
        .await;
    assert_eq!(s.twilio.calls().len(), 1);

    // Bob answers: who asks, for which incident; his 1 joins him.
    let bob_call = calls[0].sid.clone();
    let whisper = t
        .post(&calls[0].url, &call_params(&bob_call, LINE, BOB, &[]))
        .await;
    assert_eq!(
        whisper.said(),
        "This is the phone escalation. Alice Agent asks you to join a conference bridge for incident I N C, 0 0 1 0 9 7 0. Press 1 to join. You did not join the bridge. Goodbye."
    );
    let no = answer_as(&t, &whisper, &bob_call, BOB, &[("Digits", "7")]).await;
    assert_eq!(no.said(), "You did not join the bridge. Goodbye.");
    assert_hangs_up(&no);
    let join = answer_as(&t, &whisper, &bob_call, BOB, &[("Digits", "1")]).await;
    assert_eq!(join.said(), "Joining you to the bridge now.");
    assert_eq!(join.texts("Conference"), conf);
    assert_eq!(join.attrs("Conference", "endConferenceOnExit"), ["false"]);
    let bob_status_url = join.attrs("Conference", "statusCallback")[0].clone();

    // The opening note: who asked, who is called (masked).
    let notes = s.sn.work_notes(&id);
    let opened: Vec<&String> = notes
        .iter()
        .filter(|n| n.contains("opened conference bridge"))
        .collect();
    assert_eq!(opened.len(), 1, "{notes:#?}");
    assert!(
        opened[0].contains("Alice Agent pressed 4")
            && opened[0].contains("calling Bob Agent (+1******0002) in"),
        "{}",
        opened[0]
    );

    // The conference runs 1 min 35 s; Bob is on it for 60 s. Every callback twice.
    let ts = |s: u32| format!("Wed, 02 Dec 2026 12:{:02}:{:02} +0000", s / 60, s % 60);
    for _ in 0..2 {
        status(
            &t,
            &status_url,
            "participant-join",
            "1",
            &alice.call_sid,
            &ts(0),
        )
        .await;
        status(&t, &status_url, "conference-start", "2", "", &ts(0)).await;
        status(
            &t,
            &bob_status_url,
            "participant-join",
            "3",
            &bob_call,
            &ts(20),
        )
        .await;
        status(
            &t,
            &bob_status_url,
            "participant-leave",
            "4",
            &bob_call,
            &ts(80),
        )
        .await;
        status(
            &t,
            &status_url,
            "participant-leave",
            "5",
            &alice.call_sid,
            &ts(95),
        )
        .await;
        let r = status(&t, &status_url, "conference-end", "6", "", &ts(95)).await;
        assert_eq!(r.status, 200);
    }
    let notes = s.sn.work_notes(&id);
    let ended: Vec<&String> = notes.iter().filter(|n| n.contains("ended after")).collect();
    assert_eq!(
        ended.len(),
        1,
        "redelivered callbacks write one note: {notes:#?}"
    );
    assert!(
        ended[0].contains(
            "ended after 1 min 35 s. On the bridge: Alice Agent 1 min 35 s, Bob Agent 1 min 00 s."
        ),
        "{}",
        ended[0]
    );
    for n in &notes {
        assert_no_full_numbers(n);
    }
}

#[tokio::test]
async fn without_a_bridge_url_no_4_is_offered() {
    let t = InboundStack::start(test_config()).await;
    let s = &t.stack;
    s.twilio.script(ALICE, vec![keys("14")]);
    let id = sys_id_of(971);
    assert_eq!(s.trigger(&id, "INC0010971", "Disk full", "1").await.0, 202);
    s.settle(&[&id], SETTLE).await;
    let alice = &s.twilio.executions()[0];
    assert!(alice.redirected_to.is_none());
    assert!(alice.heard.iter().all(|h| !h.text.contains("press 4")));
    assert_eq!(alice.parameters["bridge_url"], "");
}

fn sys_id_of(n: u32) -> String {
    format!("{n:032x}")
}

async fn answer_as(
    t: &InboundStack,
    reply: &Reply,
    call: &str,
    from: &str,
    extra: &[(&str, &str)],
) -> Reply {
    t.post(&reply.action(), &call_params(call, LINE, from, extra))
        .await
}
