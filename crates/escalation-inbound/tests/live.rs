//! Callers put through to the on-call people (menu 2), who may call, and texts.

mod support;

use escalation_core::ports::Mark;
use escalation_inbound::twiml::Verb;
use support::*;

fn dial_to(r: &escalation_inbound::VoiceResponse) -> (String, String) {
    r.verbs
        .iter()
        .find_map(|v| match v {
            Verb::Dial(d) => Some((
                d.numbers[0].number.clone(),
                d.numbers[0].whisper_url.clone().expect("a whisper"),
            )),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no <Dial> in {}", r.to_xml()))
}

#[tokio::test(start_paused = true)]
async fn a_caller_put_through_gets_an_assigned_incident_and_the_end_of_the_call_is_noted_once() {
    let t = Line::new();
    let (call_sid, leg) = (sid("CA", 10), sid("CA", 11));
    let menu = t.ring(&call_sid, ALICE).await;
    assert!(said(&menu).starts_with("Hello Alice Agent. You have reached the IT escalation line."));
    let teams = t.answer(&menu, &call_sid, ALICE, &[("Digits", "2")]).await;
    let dial = t.answer(&teams, &call_sid, ALICE, &[("Digits", "1")]).await;
    assert_eq!(
        said(&dial),
        "Putting you through to the Database team. Calling Bob Agent. Please hold."
    );
    let (to, whisper_url) = dial_to(&dial);
    assert_eq!(to, BOB);

    // Bob's leg: the whisper, then a key press takes the call.
    let leg_params = [("CallSid", leg.as_str()), ("From", LINE), ("To", BOB)];
    let whisper = t.post(&whisper_url, &leg_params).await;
    assert_eq!(
        said(&whisper),
        "This is the IT escalation line. Alice Agent is calling for the Database team. Press any key to take the call. No key was pressed, so the caller will be offered to someone else. Goodbye."
    );
    let mut key = leg_params.to_vec();
    key.push(("Digits", "5"));
    let connect = t.post(&action(&whisper), &key).await;
    assert_eq!(
        said(&connect),
        "Connecting you now. Incident I N C, 0 0 1 0 0 0 1 is open for this call."
    );
    assert!(!hangs_up(&connect));
    assert!(t.mem.marks.contains(&Mark::CallTaken {
        parent: call_sid.clone(),
        index: 0
    }));

    let f = &t.created()[0];
    assert_eq!(f["assigned_to"], user_sys_id("bob.agent").as_str());
    assert_eq!(f["state"], "2");
    assert_eq!(f["caller_id"], user_sys_id("alice.agent").as_str());
    assert_eq!(
        f["short_description"],
        "Phone call from Alice Agent put through to Bob Agent (Database)"
    );
    assert_eq!(
        f["work_notes"],
        "Alice Agent was put through to Bob Agent (+1******0002) by the IT escalation line."
    );
    let description = f["description"].as_str().unwrap();
    assert!(
        description.contains(
            "The caller was put through to Bob Agent (+1******0002) at 2026-11-21 10:00:00 UTC."
        ),
        "the time comes from the clock: {description}"
    );
    let record = t.incident(&call_sid).await.unwrap();
    assert!(!t.escalated(&record.sys_id).await, "someone is on it");

    // The call ends (Twilio may say so twice): goodbye, and one note of how long it lasted.
    let ended = call(
        &call_sid,
        ALICE,
        &[
            ("DialBridged", "true"),
            ("DialCallStatus", "completed"),
            ("DialCallSid", &leg),
            ("DialCallDuration", "95"),
        ],
    );
    for _ in 0..2 {
        let bye = t.post(&action(&dial), &ended).await;
        assert_eq!(said(&bye), "The call has ended. Goodbye.");
    }
    let key = format!("inbound:{call_sid}:0:ended");
    let notes = t.inbound_notes();
    assert_eq!(notes.len(), 2);
    assert!(notes.iter().all(|n| n.key == key), "{notes:#?}");
    assert_eq!(
        notes[0].work_note,
        "The call between Alice Agent and Bob Agent ended after 1 min 35 s."
    );
    let written = t.written_notes(&record.sys_id).await;
    assert_eq!(
        written.iter().filter(|n| n.contains("ended after")).count(),
        1,
        "{written:#?}"
    );
    assert_eq!(t.created().len(), 1);
    assert_eq!(t.mem.dialer.requests(), 0, "no escalation calls");
}

#[tokio::test(start_paused = true)]
async fn nobody_answering_leads_to_voicemail() {
    let t = Line::new();
    let call_sid = sid("CA", 12);
    let menu = t.ring(&call_sid, ALICE).await;
    let teams = t.answer(&menu, &call_sid, ALICE, &[("Digits", "2")]).await;
    let bob = t.answer(&teams, &call_sid, ALICE, &[("Digits", "1")]).await;
    let carol = t
        .answer(&bob, &call_sid, ALICE, &[("DialCallStatus", "busy")])
        .await;
    assert_eq!(
        said(&carol),
        "Bob Agent is busy. Calling Carol Manager. Please hold."
    );
    assert_eq!(dial_to(&carol).0, CAROL);
    let voicemail = t
        .answer(&carol, &call_sid, ALICE, &[("DialCallStatus", "no-answer")])
        .await;
    assert!(
        said(&voicemail)
            .starts_with("Carol Manager did not answer. Nobody on call could be reached."),
        "{}",
        said(&voicemail)
    );
    assert!(voicemail.verbs.iter().any(|v| matches!(v, Verb::Record(_))));
}

#[tokio::test(start_paused = true)]
async fn withheld_and_unknown_callers_are_refused() {
    let t = Line::new();
    let r = t
        .post("/voice", &call(&sid("CA", 20), "anonymous", &[]))
        .await;
    assert_eq!(
        said(&r),
        "The IT escalation line does not accept calls from withheld numbers. Please call again with your caller ID shown. Goodbye."
    );
    assert!(hangs_up(&r));
    let r = t.post("/voice", &call(&sid("CA", 21), STRANGER, &[])).await;
    assert_eq!(
        said(&r),
        "Your number is not registered for the IT escalation line. If you need help, please contact the service desk. Goodbye."
    );
    // A step of a caller never admitted ends the call.
    let r = t
        .post(
            "/voice/menu",
            &call(&sid("CA", 22), STRANGER, &[("Digits", "1")]),
        )
        .await;
    assert!(said(&r).starts_with("Sorry, something went wrong"));
    assert!(t.created().is_empty());
    assert!(
        t.inbound
            .voice("/voice/nope", &webhook("/voice/nope", &[]).1)
            .await
            .is_none()
    );
}

#[tokio::test(start_paused = true)]
async fn a_text_files_one_incident_and_escalates() {
    let t = Line::new();
    let message = sid("SM", 1);
    let reply = t.sms(&message, ALICE, "  Payments are failing.  ").await;
    assert_eq!(
        reply,
        "Thank you. Your report is incident INC0010001 for the Database team. The on-call team is being called now."
    );
    // Redelivered: the same incident, not a second one.
    assert_eq!(
        t.sms(&message, ALICE, "  Payments are failing.  ").await,
        reply
    );
    assert_eq!(t.created().len(), 1);
    let f = &t.created()[0];
    assert_eq!(
        f["short_description"],
        "SMS from Alice Agent: Payments are failing."
    );
    assert!(f.get("contact_type").is_none());
    assert!(
        f["description"]
            .as_str()
            .unwrap()
            .contains("Message:\nPayments are failing.")
    );
    assert_eq!(t.mem.dialer.requests(), 1);

    let refused = t.sms(&sid("SM", 2), STRANGER, "hello").await;
    assert!(
        refused.contains("only accepts reports from registered staff"),
        "{refused}"
    );
    assert_eq!(t.created().len(), 1);
}
