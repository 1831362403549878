//! Who may call: roster people and ServiceNow users by their number, refusals for unknown
//! and withheld numbers, and a PIN line that admits them with the PIN.

use super::*;

#[tokio::test]
async fn servicenow_users_are_recognised_by_their_normalised_phone() {
    let t = InboundStack::start(test_config()).await;
    let dana = "dada0000dada0000dada0000dada0000";
    let erin = "eeee0000eeee0000eeee0000eeee0000";
    t.stack
        .sn
        .add_user(dana, "dana.ops", "Dana Ops", "+1 555 010 0042");
    t.stack
        .sn
        .add_user(erin, "erin.ops", "Erin Ops", "(555) 010-0043");
    // Same last digits, other number: never a match.
    t.stack.sn.add_user(
        "ffff0000ffff0000ffff0000ffff0000",
        "frank",
        "Frank",
        "+44 20 7010 0042",
    );

    let r = ring(&t, &sid("CA", 9), "+15550100042", LINE).await;
    assert!(r.said().contains("Hello Dana Ops."), "{}", r.body);
    let lookup = t
        .stack
        .sn
        .requests()
        .into_iter()
        .find(|q| q.path.ends_with("/table/sys_user"))
        .expect("a sys_user query");
    assert!(lookup.query.contains("LIKE0042"), "{}", lookup.query);

    let r = ring(&t, &sid("CA", 91), "+15550100043", LINE).await;
    assert!(
        r.said().contains("Hello Erin Ops."),
        "national number with the default country code: {}",
        r.body
    );

    // Dana's report carries her as the caller.
    let call = sid("CA", 92);
    let (confirm, _) = record_report(&t, &call, "+15550100042", "1", &sid("RE", 92), "5").await;
    answer(&t, &confirm, &call, "+15550100042", &[("Digits", "1")]).await;
    let p = &incident_posts(&t)[0];
    assert_eq!(p["caller_id"], dana);
    assert!(
        p["description"]
            .as_str()
            .unwrap()
            .contains("identified as a ServiceNow user by phone number")
    );
    assert_no_full_numbers(&p.to_string());
}

#[tokio::test]
async fn unknown_and_withheld_callers_hear_a_refusal() {
    let t = InboundStack::start(test_config()).await;
    let r = ring(&t, &sid("CA", 10), "+15550199999", LINE).await;
    assert_eq!(
        r.said(),
        "Your number is not registered for the IT escalation line. If you need help, please contact the service desk. Goodbye."
    );
    assert_hangs_up(&r);
    assert!(!r.has("Gather"));
    for withheld in ["+266696687", "anonymous", ""] {
        let r = ring(&t, &sid("CA", 11), withheld, LINE).await;
        assert!(
            r.said()
                .contains("does not accept calls from withheld numbers"),
            "{withheld}: {}",
            r.body
        );
        assert_hangs_up(&r);
    }
    // A number the line is not configured for.
    let r = ring(&t, &sid("CA", 12), ALICE, "+15550107777").await;
    assert_eq!(
        r.said(),
        "This number is not set up for the escalation service. Goodbye."
    );
    assert!(incident_posts(&t).is_empty());
    assert!(t.stack.twilio.requests().is_empty());
}

#[tokio::test]
async fn a_pin_line_admits_withheld_numbers_with_the_pin() {
    let t = InboundStack::start(test_config()).await;
    let call = sid("CA", 13);
    let from = "+266696687";
    let prompt = ring(&t, &call, from, PIN_LINE).await;
    assert!(
        prompt
            .said()
            .contains("Please enter the PIN for this line, then press the pound key."),
        "{}",
        prompt.body
    );
    assert_eq!(prompt.attrs("Gather", "finishOnKey"), ["#"]);
    let wrong = t
        .post(
            &prompt.action(),
            &call_params(&call, from, PIN_LINE, &[("Digits", "1111")]),
        )
        .await;
    assert!(
        wrong.said().contains("That PIN is not correct."),
        "{}",
        wrong.body
    );
    let right = t
        .post(
            &wrong.action(),
            &call_params(&call, from, PIN_LINE, &[("Digits", PIN)]),
        )
        .await;
    assert!(
        right
            .said()
            .contains("Hello. You have reached the night line."),
        "{}",
        right.body
    );
    // One team only: no team menu, straight to recording.
    let record = t
        .post(
            &right.action(),
            &call_params(&call, from, PIN_LINE, &[("Digits", "1")]),
        )
        .await;
    assert!(record.has("Record"), "{}", record.body);
    let rec = sid("RE", 13);
    let confirm = t
        .post(
            &record.action(),
            &call_params(
                &call,
                from,
                PIN_LINE,
                &[
                    ("RecordingSid", &rec),
                    ("RecordingUrl", &recording_url(&rec)),
                    ("RecordingDuration", "6"),
                ],
            ),
        )
        .await;
    let done = t
        .post(
            &confirm.action(),
            &call_params(&call, from, PIN_LINE, &[("Digits", "1")]),
        )
        .await;
    assert!(
        done.said().contains("for the Site reliability team"),
        "{}",
        done.body
    );
    let p = &incident_posts(&t)[0];
    assert!(p.get("caller_id").is_none());
    assert!(p["description"].as_str().unwrap().contains(
        "number withheld (number withheld or not registered; admitted with the line's PIN)"
    ));

    // Three wrong PINs end the call.
    let call = sid("CA", 14);
    let mut r = ring(&t, &call, "+15550199999", PIN_LINE).await;
    for _ in 0..2 {
        r = t
            .post(
                &r.action(),
                &call_params(&call, "+15550199999", PIN_LINE, &[("Digits", "0000")]),
            )
            .await;
        assert!(r.said().contains("That PIN is not correct."));
        assert!(r.has("Gather"));
    }
    let r = t
        .post(
            &r.action(),
            &call_params(&call, "+15550199999", PIN_LINE, &[("Digits", "0000")]),
        )
        .await;
    assert_eq!(r.said(), "That PIN is not correct. Goodbye.");
    assert_hangs_up(&r);
}

#[tokio::test]
async fn an_empty_pin_is_named_and_three_misses_end_the_call() {
    let t = InboundStack::start(test_config()).await;
    let call = sid("CA", 33);
    let from = "+266696687";
    let mut r = ring(&t, &call, from, PIN_LINE).await;
    for (pin, said) in [
        ("", "No PIN was entered."),
        ("0000", "That PIN is not correct."),
        ("9999", "That PIN is not correct."),
    ] {
        r = t
            .post(
                &r.action(),
                &call_params(&call, from, PIN_LINE, &[("Digits", pin)]),
            )
            .await;
        assert!(r.said().contains(said), "{pin:?}: {}", r.body);
    }
    assert_hangs_up(&r);
    assert!(incident_posts(&t).is_empty());
}
