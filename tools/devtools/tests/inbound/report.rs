//! Reporting (menu 1): the menus, the recording and its confirmation, the incident filed
//! and escalated, the transcription as a work note; and every way a report can go wrong
//! (silence, wrong keys, too short, re-recorded, hung up, ServiceNow down).

use super::*;

#[tokio::test]
async fn report_creates_the_incident_and_escalates_through_the_normal_engine() {
    let t = InboundStack::start(test_config()).await;
    t.stack.twilio.script(ALICE, vec![press("1")]);
    let call = sid("CA", 2);

    let menu = ring(&t, &call, ALICE, LINE).await;
    assert_eq!(menu.status, 200);
    assert_says(
        &menu,
        "Hello Alice Agent. You have reached the IT escalation line.",
    );
    assert!(menu.said().contains(
        "To report an incident, press 1. To be put through to the person on call now, press 2."
    ));
    assert_eq!(menu.attrs("Say", "voice")[0], "Polly.Joanna");
    assert!(
        menu.action().starts_with(&format!("{BASE}/voice/menu?")),
        "{}",
        menu.body
    );
    assert_eq!(menu.attrs("Gather", "numDigits"), ["1"]);
    assert_no_full_numbers(&menu.body);

    let teams = answer(&t, &menu, &call, ALICE, &[("Digits", "1")]).await;
    assert_says(
        &teams,
        "For Database, press 1. For Network, press 2. To hear these options again, press 0.",
    );
    // 0 repeats the options.
    let again = answer(&t, &teams, &call, ALICE, &[("Digits", "0")]).await;
    assert_says(&again, "For Database, press 1.");

    let record = answer(&t, &again, &call, ALICE, &[("Digits", "1")]).await;
    assert_says(&record, "After the tone, please describe the problem");
    assert_eq!(record.attrs("Record", "maxLength"), ["120"]);
    assert_eq!(record.attrs("Record", "transcribe"), ["true"]);
    let transcribe_url = record.attrs("Record", "transcribeCallback")[0].clone();
    assert!(transcribe_url.starts_with(&format!("{BASE}/voice/transcription?")));
    // Nothing recorded: the line says so and asks again.
    assert_says(&record, "I did not hear a message.");
    assert_eq!(record.attrs("Redirect", "method"), ["POST"]);

    let rec = sid("RE", 2);
    let url = recording_url(&rec);
    let confirm = recorded(&t, &record, &call, ALICE, &rec, "14", Some("#")).await;
    assert_says(
        &confirm,
        "To send it, press 1. To record it again, press 2.",
    );
    assert!(
        incident_posts(&t).is_empty(),
        "nothing filed before the caller confirms"
    );

    let done = answer(&t, &confirm, &call, ALICE, &[("Digits", "1")]).await;
    let said = done.said();
    assert!(
        said.contains(
            "Thank you. Your report is incident I N C, 0 0 1 0 0 0 1, for the Database team."
        ),
        "{said}"
    );
    assert!(
        said.contains("The on-call team is being called now."),
        "{said}"
    );
    assert_hangs_up(&done);

    // What ServiceNow received.
    let posts = incident_posts(&t);
    assert_eq!(posts.len(), 1, "{posts:#?}");
    let p = &posts[0];
    assert_eq!(p["impact"], "1");
    assert_eq!(p["urgency"], "1");
    assert_eq!(p["category"], "database");
    assert_eq!(p["assignment_group"], DB_GROUP);
    assert_eq!(p["caller_id"], user_sys_id("alice.agent"));
    assert_eq!(p["correlation_id"], call.as_str());
    assert_eq!(p["correlation_display"], "phone-escalation-inbound");
    assert_eq!(p["contact_type"], "phone");
    assert_eq!(
        p["short_description"],
        "Phone report from Alice Agent for Database"
    );
    let description = p["description"].as_str().unwrap();
    assert!(
        description.contains(&format!("Recorded message (14 s): {url}")),
        "{description}"
    );
    assert!(
        description
            .contains("Caller: Alice Agent, +1******0001 (identified by the on-call roster).")
    );
    assert!(description.contains(&call));
    assert_no_full_numbers(&p.to_string());

    // The same escalation engine and state as the business rule's trigger.
    let (sys_id, number) = created(&t, &call).await.expect("incident");
    assert_eq!(number, "INC0010001");
    let esc = t
        .stack
        .escalation(&sys_id)
        .await
        .expect("escalation started")
        .escalation;
    assert_eq!(esc.incident().number, "INC0010001");
    assert_eq!(esc.incident().priority, "1");
    assert_eq!(esc.incident().assignment_group.as_deref(), Some(DB_GROUP));
    assert_eq!(settled(&t, &sys_id).await, Status::Accepted);
    assert_eq!(t.stack.twilio.executions()[0].to, ALICE);

    // Twilio's transcription becomes a work note; a repeat of the same callback does not.
    for _ in 0..2 {
        let r = transcription(
            &t,
            &transcribe_url,
            &call,
            ALICE,
            Transcript::completed(
                &rec,
                &sid("TR", 2),
                "The orders database is down since 10:00.",
            ),
        )
        .await;
        assert_eq!(r.status, 200);
        assert!(!r.has("Say"));
    }
    let notes = t.stack.sn.work_notes(&sys_id);
    let transcripts: Vec<_> = notes
        .iter()
        .filter(|n| n.contains("Transcription of the caller's message"))
        .collect();
    assert_eq!(transcripts.len(), 1, "{notes:#?}");
    assert!(
        transcripts[0].contains(&rec)
            && transcripts[0].contains("The orders database is down since 10:00.")
    );
    assert_eq!(incident_posts(&t).len(), 1, "still one incident");
}

#[tokio::test]
async fn failed_transcription_says_so_in_the_note() {
    let t = InboundStack::start(test_config()).await;
    let call = sid("CA", 3);
    let rec = sid("RE", 3);
    let (confirm, transcribe_url) = record_report(&t, &call, BOB, "1", &rec, "20").await;
    let done = answer(&t, &confirm, &call, BOB, &[("Digits", "1")]).await;
    assert_says(&done, "Your report is incident");
    let (sys_id, _) = created(&t, &call).await.unwrap();
    let r = transcription(
        &t,
        &transcribe_url,
        &call,
        BOB,
        Transcript::failed(&rec, &sid("TR", 3)),
    )
    .await;
    assert_eq!(r.status, 200);
    let notes = t.stack.sn.work_notes(&sys_id);
    let failed: Vec<_> = notes
        .iter()
        .filter(|n| n.contains("could not transcribe"))
        .collect();
    assert_eq!(failed.len(), 1, "{notes:#?}");
    assert!(failed[0].contains("transcription status failed"));
    assert!(
        failed[0].contains(&recording_url(&rec)),
        "the note links the recording"
    );
}

#[tokio::test]
async fn record_again_and_too_short_recordings() {
    let t = InboundStack::start(test_config()).await;
    let call = sid("CA", 4);
    let record = choose(&t, &call, ALICE, "1", "1").await;
    let transcribe_url = record.attrs("Record", "transcribeCallback")[0].clone();

    // One second: too short, asked again.
    let short = sid("RE", 40);
    let r = recorded(&t, &record, &call, ALICE, &short, "1", None).await;
    assert_says(&r, "That message was too short.");
    assert!(r.has("Record"));

    // A first message, then "record it again".
    let first = sid("RE", 41);
    let confirm = recorded(&t, &r, &call, ALICE, &first, "8", None).await;
    let again = answer(&t, &confirm, &call, ALICE, &[("Digits", "2")]).await;
    assert_says(&again, "All right, let's record it again.");
    assert!(again.has("Record"));
    // The discarded message's transcription is ignored: no incident, no note.
    let r2 = transcription(
        &t,
        &transcribe_url,
        &call,
        ALICE,
        Transcript::completed(&first, &sid("TR", 41), "first try"),
    )
    .await;
    assert_eq!(r2.status, 200);
    assert!(incident_posts(&t).is_empty());

    // A wrong key at the confirmation is explained; then the second message is sent.
    let second = sid("RE", 42);
    let confirm = recorded(&t, &again, &call, ALICE, &second, "30", None).await;
    let wrong = answer(&t, &confirm, &call, ALICE, &[("Digits", "7")]).await;
    assert_says(&wrong, "Sorry, that is not an option.");
    let done = answer(&t, &wrong, &call, ALICE, &[("Digits", "1")]).await;
    assert_says(&done, "Your report is incident");
    let posts = incident_posts(&t);
    assert_eq!(posts.len(), 1);
    let d = posts[0]["description"].as_str().unwrap();
    assert!(
        d.contains(&recording_url(&second)) && !d.contains(&recording_url(&first)),
        "{d}"
    );
}

#[tokio::test]
async fn silence_and_wrong_keys_are_explained_then_the_call_ends() {
    let t = InboundStack::start(test_config()).await;
    let call = sid("CA", 5);
    let menu = ring(&t, &call, ALICE, LINE).await;
    let r1 = answer(&t, &menu, &call, ALICE, &[("Digits", "")]).await;
    assert_says(&r1, "I did not hear a choice.");
    assert!(!r1.said().contains("Hello"), "no second greeting");
    let r2 = answer(&t, &r1, &call, ALICE, &[("Digits", "9")]).await;
    assert_says(&r2, "Sorry, that is not an option.");
    let r3 = answer(&t, &r2, &call, ALICE, &[]).await;
    assert_eq!(r3.said(), "No option was chosen. Goodbye.");
    assert_hangs_up(&r3);

    // The team menu too.
    let call = sid("CA", 51);
    let bad = choose(&t, &call, ALICE, "1", "8").await;
    assert!(
        bad.said().contains("Sorry, that is not an option.") && bad.said().contains("For Database")
    );

    // Silence at the record prompt: asked again, then the call ends.
    let record = answer(&t, &bad, &call, ALICE, &[("Digits", "2")]).await;
    let r = follow_redirect(&t, &record, &call, ALICE).await;
    assert!(r.has("Record"), "{}", r.body);
    let r = follow_redirect(&t, &r, &call, ALICE).await;
    let r = follow_redirect(&t, &r, &call, ALICE).await;
    assert_eq!(r.said(), "No message was recorded. Goodbye.");
    assert_hangs_up(&r);
    assert!(incident_posts(&t).is_empty());
}

#[tokio::test]
async fn a_team_whose_priority_does_not_escalate_is_filed_without_calls() {
    let t = InboundStack::start(test_config()).await;
    let call = sid("CA", 6);
    let rec = sid("RE", 6);
    let (confirm, _) = record_report(&t, &call, ALICE, "2", &rec, "10").await;
    // No key at the confirmation: the message is sent.
    let done = answer(&t, &confirm, &call, ALICE, &[("Digits", "")]).await;
    let said = done.said();
    assert!(
        said.contains("No key was pressed, so your message is being sent."),
        "{said}"
    );
    assert!(
        said.contains("for the Network team. The team will pick it up."),
        "{said}"
    );
    let p = &incident_posts(&t)[0];
    assert_eq!(
        (p["impact"].as_str(), p["urgency"].as_str()),
        (Some("3"), Some("3"))
    );
    assert!(p.get("assignment_group").is_none());
    let (sys_id, _) = created(&t, &call).await.unwrap();
    assert!(
        t.stack.escalation(&sys_id).await.is_none(),
        "P5 does not escalate"
    );
    assert!(t.stack.twilio.executions().is_empty());
}

#[tokio::test]
async fn hanging_up_after_the_message_files_it() {
    let t = InboundStack::start(test_config()).await;

    // Hung up while recording: Twilio still posts the recording (CallStatus=completed).
    let call = sid("CA", 7);
    let record = choose(&t, &call, ALICE, "1", "1").await;
    let rec = sid("RE", 7);
    let r = recorded(&t, &record, &call, ALICE, &rec, "9", Some("hangup")).await;
    assert_eq!(r.status, 200);
    assert!(!r.has("Say"));
    let (sys_id, _) = created(&t, &call).await.expect("filed");
    assert!(t.stack.escalation(&sys_id).await.is_some());

    // Hung up at the confirmation prompt: the transcription callback files it.
    let call = sid("CA", 71);
    let record = choose(&t, &call, BOB, "1", "1").await;
    let transcribe_url = record.attrs("Record", "transcribeCallback")[0].clone();
    let rec = sid("RE", 71);
    let confirm = recorded(&t, &record, &call, BOB, &rec, "25", None).await;
    assert!(confirm.has("Gather"));
    assert!(created(&t, &call).await.is_none());
    let r = transcription(
        &t,
        &transcribe_url,
        &call,
        BOB,
        Transcript::completed(&rec, &sid("TR", 71), "Payments are failing."),
    )
    .await;
    assert_eq!(r.status, 200);
    let (sys_id, _) = created(&t, &call)
        .await
        .expect("filed from the transcription");
    assert!(t.stack.escalation(&sys_id).await.is_some(), "and escalated");
    let notes = t.stack.sn.work_notes(&sys_id);
    assert!(
        notes.iter().any(|n| n.contains("Payments are failing.")),
        "{notes:#?}"
    );
}

#[tokio::test]
async fn servicenow_down_is_explained_to_the_caller() {
    let t = InboundStack::start(test_config()).await;
    let call = sid("CA", 8);
    let rec = sid("RE", 8);
    let (confirm, _) = record_report(&t, &call, ALICE, "1", &rec, "12").await;
    t.stack.sn.inject(down("POST", "/table/incident", 500));
    let done = answer(&t, &confirm, &call, ALICE, &[("Digits", "1")]).await;
    assert_says(
        &done,
        "Sorry, the incident could not be created because the service desk system did not answer. Your message was recorded.",
    );
    assert_hangs_up(&done);
    t.stack.sn.clear_faults();

    // A caller who is not on the roster cannot be checked while ServiceNow is down.
    t.stack.sn.inject(down("GET", "/table/sys_user", 503));
    let r = ring(&t, &sid("CA", 81), "+15550100042", LINE).await;
    assert_says(&r, "your number cannot be checked right now");
    assert_hangs_up(&r);
}

#[tokio::test]
async fn confirmation_limits_send_the_message_instead_of_looping() {
    let t = InboundStack::start(test_config()).await;
    let call = sid("CA", 30);
    let (mut confirm, _) = record_report(&t, &call, ALICE, "1", &sid("RE", 300), "9").await;
    // Three re-recordings are allowed; the fourth "2" sends the last message.
    for n in 1..=3u64 {
        let again = answer(&t, &confirm, &call, ALICE, &[("Digits", "2")]).await;
        assert_says(&again, "let's record it again");
        let rec = sid("RE", 300 + n);
        confirm = recorded(&t, &again, &call, ALICE, &rec, "9", None).await;
    }
    let done = answer(&t, &confirm, &call, ALICE, &[("Digits", "2")]).await;
    assert_says(
        &done,
        "You have recorded the message several times; the last one is being sent.",
    );
    assert_says(&done, "Your report is incident");
    let posts = incident_posts(&t);
    assert_eq!(posts.len(), 1);
    assert!(
        posts[0]["description"]
            .as_str()
            .unwrap()
            .contains(&recording_url(&sid("RE", 303)))
    );

    // Wrong keys at the confirmation: after the third the message is sent.
    let call = sid("CA", 31);
    let (mut r, _) = record_report(&t, &call, BOB, "1", &sid("RE", 310), "9").await;
    for _ in 0..2 {
        r = answer(&t, &r, &call, BOB, &[("Digits", "7")]).await;
        assert_says(&r, "Sorry, that is not an option.");
    }
    let done = answer(&t, &r, &call, BOB, &[("Digits", "7")]).await;
    assert_says(&done, "Your message is being sent.");
    assert_says(&done, "Your report is incident");
    assert_eq!(incident_posts(&t).len(), 2);
}

#[tokio::test]
async fn a_recording_callback_without_a_usable_recording_asks_again() {
    let t = InboundStack::start(test_config()).await;
    let call = sid("CA", 32);
    let record = choose(&t, &call, ALICE, "1", "1").await;
    let r = answer(
        &t,
        &record,
        &call,
        ALICE,
        &[
            ("RecordingSid", "RE-garbage"),
            ("RecordingUrl", "http://example.com/not-twilio"),
            ("RecordingDuration", "12"),
        ],
    )
    .await;
    assert_says(&r, "Sorry, the recording did not work.");
    assert!(r.has("Record"), "asked to record again: {}", r.body);
    assert!(incident_posts(&t).is_empty());
}
