//! Reports recorded on the phone (menu 1): the incident, the escalation, and the notes that
//! go through the update queue once per key however often Twilio repeats a webhook.

mod support;

use escalation_core::ports::Mark;
use support::*;

#[tokio::test(start_paused = true)]
async fn a_recorded_report_opens_an_incident_and_escalates() {
    let t = Line::new();
    let (call_sid, rec) = (sid("CA", 1), sid("RE", 1));
    let (confirm, _) = record_report(&t, &call_sid, ALICE, "1", &rec, "14").await;
    assert!(
        said(&confirm).contains("To send it, press 1."),
        "{}",
        said(&confirm)
    );

    let done = t
        .answer(&confirm, &call_sid, ALICE, &[("Digits", "1")])
        .await;
    assert_eq!(
        said(&done),
        "Thank you. Your report is incident I N C, 0 0 1 0 0 0 1, for the Database team. The on-call team is being called now. Goodbye."
    );
    assert!(hangs_up(&done));

    let created = t.created();
    assert_eq!(created.len(), 1);
    let f = &created[0];
    assert_eq!(
        f["short_description"],
        "Phone report from Alice Agent for Database"
    );
    assert_eq!(f["impact"], "1");
    assert_eq!(f["category"], "database");
    assert_eq!(f["assignment_group"], DB_GROUP);
    assert_eq!(f["caller_id"], user_sys_id("alice.agent").as_str());
    assert_eq!(f["correlation_id"], call_sid.as_str());
    assert_eq!(f["correlation_display"], "phone-escalation-inbound");
    assert_eq!(f["contact_type"], "phone");
    let description = f["description"].as_str().unwrap();
    assert!(
        description.contains(&format!("Recorded message (14 s): {}", recording_url(&rec))),
        "{description}"
    );
    assert!(
        description
            .contains("Caller: Alice Agent, +1******0001 (identified by the on-call roster).")
    );
    assert!(
        !serde_json::to_string(f).unwrap().contains(ALICE),
        "no full numbers"
    );

    // The normal escalation, through the engine: stored, and its first call placed.
    let record = t.incident(&call_sid).await.unwrap();
    let stored = t
        .inbound
        .engine
        .find(&record.sys_id)
        .await
        .unwrap()
        .expect("escalation");
    assert_eq!(stored.escalation.incident().number, "INC0010001");
    assert_eq!(
        stored.escalation.incident().assignment_group.as_deref(),
        Some(DB_GROUP)
    );
    assert_eq!(t.mem.dialer.requests(), 1);
    assert!(t.mem.marks.contains(&Mark::RecordingSent(rec.clone())));
    assert!(
        t.inbound_notes().is_empty(),
        "the recording is in the description"
    );
}

#[tokio::test(start_paused = true)]
async fn a_repeated_confirmation_queues_the_recording_note_once_under_its_key() {
    let t = Line::new();
    let (call_sid, rec) = (sid("CA", 2), sid("RE", 2));
    let (confirm, _) = record_report(&t, &call_sid, ALICE, "1", &rec, "14").await;
    let press = call(&call_sid, ALICE, &[("Digits", "1")]);
    let first = t.post(&action(&confirm), &press).await;
    // Twilio repeats the webhook (it timed out waiting, say): same answer, same incident.
    for _ in 0..2 {
        let again = t.post(&action(&confirm), &press).await;
        assert_eq!(said(&again), said(&first));
    }
    assert_eq!(t.created().len(), 1, "one incident per call");
    assert_eq!(t.mem.dialer.requests(), 1, "one escalation, one first call");

    let key = format!("inbound:{rec}:recording");
    let notes = t.inbound_notes();
    assert!(!notes.is_empty());
    assert!(notes.iter().all(|n| n.key == key), "{notes:#?}");
    let record = t.incident(&call_sid).await.unwrap();
    let n = &notes[0];
    assert_eq!(
        (&n.sys_id, n.incident_number.as_str()),
        (&record.sys_id, "INC0010001")
    );
    assert_eq!(n.escalation_id.as_str(), "inbound");
    assert_eq!(
        n.work_note,
        format!(
            "The caller recorded a message (14 s, Twilio recording {rec}): {}",
            recording_url(&rec)
        )
    );
    assert_eq!((n.state, &n.assign_to), (None, &None));

    // However many copies were queued, ServiceNow gets the note once.
    let written = t.written_notes(&record.sys_id).await;
    let recorded: Vec<_> = written
        .iter()
        .filter(|w| w.contains("The caller recorded a message"))
        .collect();
    assert_eq!(recorded.len(), 1, "{written:#?}");
    assert!(
        recorded[0].ends_with(&format!("(ref {key})")),
        "{}",
        recorded[0]
    );
}

#[tokio::test(start_paused = true)]
async fn a_p5_report_opens_no_escalation() {
    let t = Line::new();
    let (call_sid, rec) = (sid("CA", 5), sid("RE", 5));
    let (confirm, _) = record_report(&t, &call_sid, BOB, "2", &rec, "9").await;
    let done = t.answer(&confirm, &call_sid, BOB, &[("Digits", "1")]).await;
    assert_eq!(
        said(&done),
        "Thank you. Your report is incident I N C, 0 0 1 0 0 0 1, for the Network team. The team will pick it up. Goodbye."
    );
    let record = t.incident(&call_sid).await.expect("the incident is filed");
    assert_eq!(record.priority, "5");
    let f = &t.created()[0];
    assert_eq!(
        (f["impact"].as_str(), f["urgency"].as_str()),
        (Some("3"), Some("3"))
    );
    assert!(!t.escalated(&record.sys_id).await, "no escalation");
    assert_eq!(t.mem.dialer.requests(), 0, "nobody is called");
    assert!(t.mem.outbox.all().is_empty(), "nothing queued");
}

#[tokio::test(start_paused = true)]
async fn the_transcription_is_queued_once_and_a_discarded_one_is_ignored() {
    let t = Line::new();
    let call_sid = sid("CA", 3);
    let (first, second) = (sid("RE", 31), sid("RE", 32));
    let (confirm, transcribe) = record_report(&t, &call_sid, ALICE, "1", &first, "8").await;

    // Record again: the first message is discarded, and so is its transcription.
    let again = t
        .answer(&confirm, &call_sid, ALICE, &[("Digits", "2")])
        .await;
    assert!(said(&again).starts_with("All right, let's record it again."));
    let transcript = |rec: &str, tr: &str, text: &str| {
        vec![
            ("CallSid", call_sid.clone()),
            ("From", ALICE.to_string()),
            ("RecordingSid", rec.to_string()),
            ("RecordingUrl", recording_url(rec)),
            ("TranscriptionSid", tr.to_string()),
            ("TranscriptionStatus", "completed".to_string()),
            ("TranscriptionText", text.to_string()),
        ]
    };
    let params = transcript(&first, &sid("TR", 31), "first try");
    let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = t.post(&transcribe, &params).await;
    assert!(r.verbs.is_empty());
    assert!(t.created().is_empty(), "a discarded message files nothing");

    // The second message is sent; its transcription becomes one note, however often
    // Twilio delivers it.
    let confirm = t
        .recorded(&again, &call_sid, ALICE, &second, "30", None)
        .await;
    let done = t
        .answer(&confirm, &call_sid, ALICE, &[("Digits", "1")])
        .await;
    assert!(said(&done).contains("Your report is incident"));
    let params = transcript(&second, &sid("TR", 32), "The orders database is down.");
    let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for _ in 0..2 {
        assert!(t.post(&transcribe, &params).await.verbs.is_empty());
    }
    let notes = t.inbound_notes();
    assert_eq!(notes.len(), 1, "{notes:#?}");
    assert_eq!(notes[0].key, format!("inbound:{second}:transcription"));
    assert_eq!(
        notes[0].work_note,
        format!(
            "Transcription of the caller's message (Twilio recording {second}):\nThe orders database is down."
        )
    );
    assert!(t.mem.marks.contains(&Mark::Transcription(sid("TR", 32))));
    assert_eq!(t.created().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_recording_left_at_the_confirmation_prompt_is_filed_by_its_transcription() {
    let t = Line::new();
    let (call_sid, rec) = (sid("CA", 4), sid("RE", 4));
    let (_confirm, transcribe) = record_report(&t, &call_sid, ALICE, "1", &rec, "12").await;
    // The caller hangs up at the prompt; after the wait, the transcription files it.
    let url = recording_url(&rec);
    let tr = sid("TR", 4);
    let params = [
        ("CallSid", call_sid.as_str()),
        ("From", ALICE),
        ("RecordingSid", rec.as_str()),
        ("RecordingUrl", url.as_str()),
        ("TranscriptionSid", tr.as_str()),
        ("TranscriptionStatus", "failed"),
    ];
    assert!(t.post(&transcribe, &params).await.verbs.is_empty());
    let record = t
        .incident(&call_sid)
        .await
        .expect("filed from the transcription");
    assert!(t.escalated(&record.sys_id).await, "escalated");
    let notes = t.inbound_notes();
    assert_eq!(notes.len(), 1, "{notes:#?}");
    assert_eq!(notes[0].key, format!("inbound:{rec}:transcription"));
    assert_eq!(
        notes[0].work_note,
        format!(
            "Twilio could not transcribe the caller's message (recording {rec}, transcription status failed). Listen to the recording: {url}"
        )
    );
}

#[tokio::test(start_paused = true)]
async fn a_webhook_that_loses_the_creating_mark_never_creates_the_incident_a_second_time() {
    let t = Line::new();
    let call_sid = sid("CA", 90);
    let rec = sid("RE", 90);
    let (confirm, _) = record_report(&t, &call_sid, BOB, "1", &rec, "12").await;
    // ServiceNow is slow (5 s to create, within the 8 s budget), and Twilio sends the
    // caller's confirmation twice at once.
    *t.directory.create_takes.lock().unwrap() = std::time::Duration::from_secs(5);
    let send = call(&call_sid, BOB, &[("Digits", "1")]);
    let url = action(&confirm);
    let (first, second) = tokio::join!(t.post(&url, &send), t.post(&url, &send));
    assert_eq!(t.created().len(), 1, "one incident for one call");
    for r in [first, second] {
        assert!(said(&r).contains("Your report is incident"), "{}", said(&r));
    }
}
