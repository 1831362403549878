//! A put-through call as a conference bridge (voice-inbound's CONFERENCE_BRIDGE, the
//! template's ConferenceBridge): the caller waits while the team's person is called through
//! the Calls API; their key opens and acknowledges the incident and joins them to the
//! call's conference, the caller follows; the conference's callbacks (each kept once) end in
//! one note with how long the call was and who was on it.

use super::*;
use escalation_devtools::inbound_support::ACCOUNT;

async fn bridge_line() -> InboundStack {
    let mut t = InboundStack::start(test_config()).await;
    t.put_through_bridge = true;
    t
}

/// One conference status callback as Twilio posts it.
async fn status(t: &InboundStack, url: &str, event: &str, seq: &str, call: &str, at: u32) -> Reply {
    let ts = format!("Wed, 02 Dec 2026 12:{:02}:{:02} +0000", at / 60, at % 60);
    let mut p = vec![
        ("AccountSid", ACCOUNT),
        ("ConferenceSid", "CF0123456789abcdef0123456789abcd25"),
        ("StatusCallbackEvent", event),
        ("SequenceNumber", seq),
        ("Timestamp", ts.as_str()),
    ];
    if !call.is_empty() {
        p.push(("CallSid", call));
    }
    t.post(url, &p).await
}

#[tokio::test]
async fn a_put_through_call_becomes_a_bridge_acknowledged_and_noted_with_who_was_on_it() {
    let t = bridge_line().await;
    let call = sid("CA", 25);
    let wait = put_through(&t, &call, ALICE, "1").await;
    assert_says(
        &wait,
        "Putting you through to the Database team. Calling Bob Agent. Please hold.",
    );
    assert!(
        wait.texts("Number").is_empty(),
        "no <Dial><Number>: {}",
        wait.body
    );
    let calls = t.stack.twilio.calls();
    assert_eq!(calls.len(), 1, "Bob is called through the Calls API");
    assert_eq!((calls[0].to.as_str(), calls[0].from.as_str()), (BOB, LINE));
    assert_eq!(calls[0].timeout_secs, 15, "the line's ring time");
    assert!(
        calls[0]
            .url
            .starts_with(&format!("{BASE}/voice/bridge-whisper?"))
    );
    assert_no_full_numbers(&calls[0].url);

    // Alice waits: her next check finds the call not taken yet.
    let still = follow_redirect(&t, &wait, &call, ALICE).await;
    assert!(
        !still.has("Conference") && still.has("Redirect"),
        "{}",
        still.body
    );

    // Bob answers: who is calling; his key opens the incident and joins him.
    let bob = calls[0].sid.clone();
    let whisper = t
        .post(&calls[0].url, &call_params(&bob, LINE, BOB, &[]))
        .await;
    assert_says(
        &whisper,
        "Alice Agent is calling for the Database team. Press any key to take the call.",
    );
    let join = t
        .post(
            &whisper.action(),
            &call_params(&bob, LINE, BOB, &[("Digits", "1")]),
        )
        .await;
    assert_eq!(
        join.said(),
        "Connecting you now. Incident I N C, 0 0 1 0 0 0 1 is open for this call."
    );
    let conference = format!("put-through-{call}");
    assert_eq!(join.texts("Conference"), std::slice::from_ref(&conference));
    let bob_status = join.attrs("Conference", "statusCallback")[0].clone();

    // Acknowledged: assigned to Bob, in progress, no escalation.
    let p = &incident_posts(&t)[0];
    assert_eq!(p["assigned_to"], user_sys_id("bob.agent"));
    assert_eq!(p["state"], "2");
    assert_eq!(p["correlation_id"], call.as_str());
    let (sys_id, _) = created(&t, &call).await.unwrap();
    assert!(t.stack.escalation(&sys_id).await.is_none());

    // Alice's next check joins her to the same conference.
    let connect = follow_redirect(&t, &still, &call, ALICE).await;
    assert_eq!(
        connect.said(),
        "Bob Agent took the call. Connecting you now."
    );
    assert_eq!(
        connect.texts("Conference"),
        std::slice::from_ref(&conference)
    );
    assert_eq!(connect.attrs("Conference", "endConferenceOnExit"), ["true"]);
    let alice_status = connect.attrs("Conference", "statusCallback")[0].clone();

    // 1 min 35 s on the bridge; Alice joins 5 s after Bob. Every callback twice.
    for _ in 0..2 {
        status(&t, &bob_status, "participant-join", "1", &bob, 0).await;
        status(&t, &bob_status, "conference-start", "2", "", 0).await;
        status(&t, &alice_status, "participant-join", "3", &call, 5).await;
        status(&t, &alice_status, "participant-leave", "4", &call, 95).await;
        status(&t, &bob_status, "participant-leave", "5", &bob, 95).await;
        let end = status(&t, &alice_status, "conference-end", "6", "", 95).await;
        assert_eq!(end.status, 200, "{}", end.body);
    }
    let notes = t.stack.sn.work_notes(&sys_id);
    let ended: Vec<&String> = notes.iter().filter(|n| n.contains("ended after")).collect();
    assert_eq!(ended.len(), 1, "one end note however often: {notes:#?}");
    assert!(
        ended[0].contains(&format!(
            "The put-through call (conference {conference}) ended after 1 min 35 s. On the call: Bob Agent 1 min 35 s, Alice Agent 1 min 30 s."
        )),
        "{}",
        ended[0]
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("Alice Agent was put through to Bob Agent (+1******0002)")),
        "{notes:#?}"
    );
    for n in &notes {
        assert_no_full_numbers(n);
    }
    assert_eq!(incident_posts(&t).len(), 1);
}

#[tokio::test]
async fn a_bridge_call_nobody_takes_in_time_moves_on_and_a_late_key_is_told_so() {
    let t = bridge_line().await;
    let call = sid("CA", 26);
    let mut wait = put_through(&t, &call, ALICE, "1").await;
    // Bob's phone rings out: after the ring and whisper time the line moves on.
    let mut checks = 0;
    while !wait.said().contains("did not take the call") {
        checks += 1;
        assert!(checks < 20, "never moved on: {}", wait.body);
        wait = follow_redirect(&t, &wait, &call, ALICE).await;
    }
    assert!(
        checks >= 5,
        "waited for the ring time first ({checks} checks)"
    );
    assert_says(
        &wait,
        "Bob Agent did not take the call. Calling Carol Manager. Please hold.",
    );
    let calls = t.stack.twilio.calls();
    assert_eq!(
        calls.iter().map(|c| c.to.as_str()).collect::<Vec<_>>(),
        [BOB, CAROL]
    );
    assert!(
        incident_posts(&t).is_empty(),
        "nobody took it: no incident yet"
    );

    // Bob's key comes too late: he is told, and no incident is opened for him.
    let bob = calls[0].sid.clone();
    let whisper = t
        .post(&calls[0].url, &call_params(&bob, LINE, BOB, &[]))
        .await;
    let late = t
        .post(
            &whisper.action(),
            &call_params(&bob, LINE, BOB, &[("Digits", "1")]),
        )
        .await;
    assert_eq!(
        late.said(),
        "Sorry, the caller has already been offered to someone else. Goodbye."
    );
    assert!(!late.has("Conference"));
    assert!(incident_posts(&t).is_empty());
}
