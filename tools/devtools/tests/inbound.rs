//! The inbound line through its real entry point: function-URL events carrying Twilio's
//! form-encoded webhooks, signed with X-Twilio-Signature, into `handlers::inbound`, against
//! moto and the fakes. Each test follows the TwiML it gets back (the `action` URLs) the way
//! Twilio would, and checks what the caller hears and what ServiceNow received.

use escalation_core::escalation::Status;
use escalation_devtools::inbound_support::{
    AUTH_TOKEN, BASE, DB_GROUP, InboundStack, LINE, PIN, PIN_LINE, Reply, call_params,
    recording_url, sid, sms_params, test_config,
};
use escalation_devtools::stack::{ALICE, BOB, CAROL, user_sys_id};
use escalation_fakes::FaultRule;
use escalation_fakes::twilio::AgentStep;
use escalation_inbound::webhook_signature as twilio_webhook;
use serde_json::Value;
use std::time::Duration;

const SETTLE: Duration = Duration::from_secs(30);

fn press(d: &str) -> AgentStep {
    AgentStep::Press {
        digit: d.into(),
        after_ms: 0,
    }
}

/// POST bodies ServiceNow received to create incidents.
fn incident_posts(t: &InboundStack) -> Vec<Value> {
    t.stack
        .sn
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/table/incident"))
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect()
}

/// sys_id of the incident created for `correlation`, via the Table API like any client.
async fn created(t: &InboundStack, correlation: &str) -> Option<(String, String)> {
    t.servicenow()
        .find_incident_by_correlation(correlation)
        .await
        .unwrap()
        .map(|r| (r.sys_id.to_string(), r.number))
}

fn assert_hangs_up(r: &Reply) {
    assert!(r.has("Hangup"), "expected a hang-up: {}", r.body);
}

fn assert_no_full_numbers(text: &str) {
    for n in [ALICE, BOB, CAROL, "+15550100042", LINE] {
        assert!(!text.contains(n), "full number {n} written: {text}");
    }
}

/// A call from `from`: the first webhook. Returns the reply.
async fn ring(t: &InboundStack, call: &str, from: &str, to: &str) -> Reply {
    t.post("/voice", &call_params(call, from, to, &[])).await
}

/// Follow `reply`'s action with `extra` parameters on the same call.
async fn answer(
    t: &InboundStack,
    reply: &Reply,
    call: &str,
    from: &str,
    extra: &[(&str, &str)],
) -> Reply {
    t.post(&reply.action(), &call_params(call, from, LINE, extra))
        .await
}

/// Ring, choose "report" and team `team`, record `secs` seconds: the confirmation prompt
/// and the transcription callback URL handed out with the `<Record>`.
async fn record_report(
    t: &InboundStack,
    call: &str,
    from: &str,
    team: &str,
    rec: &str,
    secs: &str,
) -> (Reply, String) {
    let menu = ring(t, call, from, LINE).await;
    let teams = answer(t, &menu, call, from, &[("Digits", "1")]).await;
    let record = answer(t, &teams, call, from, &[("Digits", team)]).await;
    assert!(record.has("Record"), "{}", record.body);
    let transcribe_url = record.attrs("Record", "transcribeCallback")[0].clone();
    let url = recording_url(rec);
    let confirm = answer(
        t,
        &record,
        call,
        from,
        &[
            ("RecordingSid", rec),
            ("RecordingUrl", &url),
            ("RecordingDuration", secs),
            ("Digits", "#"),
        ],
    )
    .await;
    (confirm, transcribe_url)
}

/// The caller recorded `secs` seconds as recording `rec`: Twilio posts it to `reply`'s action.
async fn recorded(
    t: &InboundStack,
    reply: &Reply,
    call: &str,
    from: &str,
    rec: &str,
    secs: &str,
) -> Reply {
    let url = recording_url(rec);
    answer(
        t,
        reply,
        call,
        from,
        &[
            ("RecordingSid", rec),
            ("RecordingUrl", &url),
            ("RecordingDuration", secs),
        ],
    )
    .await
}

/// Alice's put-through call to the leg `leg` was bridged and has ended after `secs` seconds:
/// Twilio posts the `<Dial>` result.
async fn bridged_call_ended(
    t: &InboundStack,
    dial: &Reply,
    call: &str,
    leg: &str,
    secs: &str,
) -> Reply {
    answer(
        t,
        dial,
        call,
        ALICE,
        &[
            ("DialCallStatus", "completed"),
            ("DialCallSid", leg),
            ("DialCallDuration", secs),
            ("DialBridged", "true"),
        ],
    )
    .await
}

/// A fake answering `status` to every `method` request on a path containing `path`, for as
/// long as a test needs (until `clear_faults`).
fn down(method: &str, path: &str, status: u16) -> FaultRule {
    FaultRule {
        method: Some(method.into()),
        path_contains: Some(path.into()),
        status,
        times: 1_000,
        ..FaultRule::default()
    }
}

/// Ring, choose "put through" and team `team`: the `<Dial>` that comes back.
async fn put_through(t: &InboundStack, call: &str, from: &str, team: &str) -> Reply {
    let menu = ring(t, call, from, LINE).await;
    let teams = answer(t, &menu, call, from, &[("Digits", "2")]).await;
    answer(t, &teams, call, from, &[("Digits", team)]).await
}

/// Twilio's parameters on the called person's leg `leg` of the put-through `parent`.
fn leg_params<'a>(leg: &'a str, parent: &'a str, to: &'a str) -> Vec<(&'a str, &'a str)> {
    call_params(
        leg,
        LINE,
        to,
        &[
            ("Direction", "outbound-dial"),
            ("ParentCallSid", parent),
            ("CallStatus", "in-progress"),
        ],
    )
}

/// Twilio's transcription of one recording.
struct Transcript<'a> {
    recording: &'a str,
    sid: &'a str,
    status: &'a str,
    text: &'a str,
}

/// Post Twilio's transcription callback to the URL handed out with the `<Record>`.
async fn transcription(
    t: &InboundStack,
    callback_url: &str,
    call: &str,
    from: &str,
    tr: Transcript<'_>,
) -> Reply {
    let Transcript {
        recording: rec,
        sid: tr,
        status,
        text,
    } = tr;
    let url = recording_url(rec);
    t.post(
        callback_url,
        &call_params(
            call,
            from,
            LINE,
            &[
                ("RecordingSid", rec),
                ("RecordingUrl", &url),
                ("TranscriptionSid", tr),
                ("TranscriptionStatus", status),
                ("TranscriptionText", text),
                (
                    "TranscriptionUrl",
                    "https://api.twilio.com/2010-04-01/Accounts/AC/Transcriptions/TR",
                ),
                ("CallStatus", "completed"),
            ],
        ),
    )
    .await
}

// ---------------------------------------------------------------------------------------
// Signatures

#[tokio::test]
async fn forged_or_missing_signatures_are_refused_and_nothing_happens() {
    let t = InboundStack::start(test_config()).await;
    let call = sid("CA", 1);
    let params = call_params(&call, ALICE, LINE, &[]);
    let pairs: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let body = serde_urlencoded::to_string(&pairs).unwrap();
    let url = format!("{BASE}/voice");
    let good = twilio_webhook::sign(AUTH_TOKEN, &url, &pairs);
    let form = "application/x-www-form-urlencoded";

    let cases: Vec<(&str, Value)> = vec![
        (
            "no header",
            InboundStack::event(&url, "POST", &body, form, None),
        ),
        (
            "empty header",
            InboundStack::event(&url, "POST", &body, form, Some("")),
        ),
        (
            "other token",
            InboundStack::event(
                &url,
                "POST",
                &body,
                form,
                Some(&twilio_webhook::sign("not-the-token", &url, &pairs)),
            ),
        ),
        (
            "tampered parameter",
            InboundStack::event(
                &url,
                "POST",
                &body.replace("inbound", "outbound-api"),
                form,
                Some(&good),
            ),
        ),
        (
            "signed for another path",
            InboundStack::event(&format!("{BASE}/sms"), "POST", &body, form, Some(&good)),
        ),
        (
            "query added",
            InboundStack::event(
                &format!("{url}?a=roster&w=Mallory"),
                "POST",
                &body,
                form,
                Some(&good),
            ),
        ),
        (
            "garbage",
            InboundStack::event(&url, "POST", &body, form, Some("bm90IGEgc2lnbmF0dXJl")),
        ),
        ("JSON body with a wrong bodySHA256", {
            let json = r#"{"CallSid":"CA1"}"#;
            let u = format!("{url}?bodySHA256={}", twilio_webhook::sha256_hex(b"other"));
            let sig = twilio_webhook::sign(AUTH_TOKEN, &u, &[]);
            InboundStack::event(&u, "POST", json, "application/json", Some(&sig))
        }),
    ];
    for (name, event) in cases {
        let r = t.send(&event).await;
        assert_eq!(r.status, 403, "{name}: {}", r.body);
        assert_eq!(r.body, "forbidden", "{name}");
    }
    // SMS too.
    let sms = sms_params("SM0123456789abcdef0123456789abcdef", ALICE, LINE, "db down");
    let sms_pairs: Vec<(String, String)> = sms
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let r = t
        .send(&InboundStack::event(
            &format!("{BASE}/sms"),
            "POST",
            &serde_urlencoded::to_string(&sms_pairs).unwrap(),
            form,
            Some(&twilio_webhook::sign(
                "wrong",
                &format!("{BASE}/sms"),
                &sms_pairs,
            )),
        ))
        .await;
    assert_eq!(r.status, 403);

    assert!(t.stack.sn.requests().is_empty(), "ServiceNow was called");
    assert!(t.stack.twilio.requests().is_empty(), "Twilio was called");

    // The same request, correctly signed, is answered; so is one signed with :443.
    let r = t
        .send(&InboundStack::event(&url, "POST", &body, form, Some(&good)))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.content_type.starts_with("text/xml"));
    let with_port = twilio_webhook::sign(AUTH_TOKEN, &url.replace(".aws/", ".aws:443/"), &pairs);
    let r = t
        .send(&InboundStack::event(
            &url,
            "POST",
            &body,
            form,
            Some(&with_port),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Function URLs may hand the form body over base64-encoded: same bytes, same check.
    let mut b64 = InboundStack::event(&url, "POST", &body, form, Some(&good));
    b64["body"] = Value::String(base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        body.as_bytes(),
    ));
    b64["isBase64Encoded"] = Value::Bool(true);
    let r = t.send(&b64).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.has("Gather"));

    // A correctly signed JSON body (bodySHA256) passes the check; these webhooks take forms.
    let json = r#"{"CallSid":"CA1"}"#;
    let u = format!(
        "{url}?bodySHA256={}",
        twilio_webhook::sha256_hex(json.as_bytes())
    );
    let sig = twilio_webhook::sign(AUTH_TOKEN, &u, &[]);
    let r = t
        .send(&InboundStack::event(
            &u,
            "POST",
            json,
            "application/json",
            Some(&sig),
        ))
        .await;
    assert_eq!(r.status, 415, "{}", r.body);

    // Signed GET: 405; unknown path: 404.
    let r = t
        .send(&InboundStack::event(
            &url,
            "GET",
            "",
            form,
            Some(&twilio_webhook::sign(AUTH_TOKEN, &url, &[])),
        ))
        .await;
    assert_eq!(r.status, 405);
    let r = t.post("/voice/nope", &params).await;
    assert_eq!(r.status, 404);
}

// ---------------------------------------------------------------------------------------
// Reporting (menu 1)

#[tokio::test]
async fn report_creates_the_incident_and_escalates_through_the_normal_engine() {
    let t = InboundStack::start(test_config()).await;
    t.stack.twilio.script(ALICE, vec![press("1")]);
    let call = sid("CA", 2);

    let menu = ring(&t, &call, ALICE, LINE).await;
    assert_eq!(menu.status, 200);
    assert!(
        menu.said()
            .contains("Hello Alice Agent. You have reached the IT escalation line."),
        "{}",
        menu.body
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
    assert!(
        teams.said().contains(
            "For Database, press 1. For Network, press 2. To hear these options again, press 0."
        ),
        "{}",
        teams.body
    );
    // 0 repeats the options.
    let again = answer(&t, &teams, &call, ALICE, &[("Digits", "0")]).await;
    assert!(again.said().contains("For Database, press 1."));

    let record = answer(&t, &again, &call, ALICE, &[("Digits", "1")]).await;
    assert!(
        record
            .said()
            .contains("After the tone, please describe the problem"),
        "{}",
        record.body
    );
    assert_eq!(record.attrs("Record", "maxLength"), ["120"]);
    assert_eq!(record.attrs("Record", "transcribe"), ["true"]);
    let transcribe_url = record.attrs("Record", "transcribeCallback")[0].clone();
    assert!(transcribe_url.starts_with(&format!("{BASE}/voice/transcription?")));
    // Nothing recorded: the line says so and asks again.
    assert!(record.said().contains("I did not hear a message."));
    assert_eq!(record.attrs("Redirect", "method"), ["POST"]);

    let rec = sid("RE", 2);
    let url = recording_url(&rec);
    let confirm = answer(
        &t,
        &record,
        &call,
        ALICE,
        &[
            ("RecordingSid", &rec),
            ("RecordingUrl", &url),
            ("RecordingDuration", "14"),
            ("Digits", "#"),
        ],
    )
    .await;
    assert!(
        confirm
            .said()
            .contains("To send it, press 1. To record it again, press 2."),
        "{}",
        confirm.body
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
    t.stack.settle(&[&sys_id], SETTLE).await;
    let esc = t.stack.escalation(&sys_id).await.unwrap().escalation;
    assert_eq!(esc.status(), Status::Accepted);
    assert_eq!(t.stack.twilio.executions()[0].to, ALICE);

    // Twilio's transcription becomes a work note; a repeat of the same callback does not.
    for _ in 0..2 {
        let r = transcription(
            &t,
            &transcribe_url,
            &call,
            ALICE,
            Transcript {
                recording: &rec,
                sid: &sid("TR", 2),
                status: "completed",
                text: "The orders database is down since 10:00.",
            },
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
    assert!(done.said().contains("Your report is incident"));
    let (sys_id, _) = created(&t, &call).await.unwrap();
    let r = transcription(
        &t,
        &transcribe_url,
        &call,
        BOB,
        Transcript {
            recording: &rec,
            sid: &sid("TR", 3),
            status: "failed",
            text: "",
        },
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
    let menu = ring(&t, &call, ALICE, LINE).await;
    let teams = answer(&t, &menu, &call, ALICE, &[("Digits", "1")]).await;
    let record = answer(&t, &teams, &call, ALICE, &[("Digits", "1")]).await;
    let transcribe_url = record.attrs("Record", "transcribeCallback")[0].clone();

    // One second: too short, asked again.
    let short = sid("RE", 40);
    let r = recorded(&t, &record, &call, ALICE, &short, "1").await;
    assert!(
        r.said().contains("That message was too short."),
        "{}",
        r.body
    );
    assert!(r.has("Record"));

    // A first message, then "record it again".
    let first = sid("RE", 41);
    let confirm = recorded(&t, &r, &call, ALICE, &first, "8").await;
    let again = answer(&t, &confirm, &call, ALICE, &[("Digits", "2")]).await;
    assert!(
        again.said().contains("All right, let's record it again."),
        "{}",
        again.body
    );
    assert!(again.has("Record"));
    // The discarded message's transcription is ignored: no incident, no note.
    let r2 = transcription(
        &t,
        &transcribe_url,
        &call,
        ALICE,
        Transcript {
            recording: &first,
            sid: &sid("TR", 41),
            status: "completed",
            text: "first try",
        },
    )
    .await;
    assert_eq!(r2.status, 200);
    assert!(incident_posts(&t).is_empty());

    // A wrong key at the confirmation is explained; then the second message is sent.
    let second = sid("RE", 42);
    let confirm = recorded(&t, &again, &call, ALICE, &second, "30").await;
    let wrong = answer(&t, &confirm, &call, ALICE, &[("Digits", "7")]).await;
    assert!(wrong.said().contains("Sorry, that is not an option."));
    let done = answer(&t, &wrong, &call, ALICE, &[("Digits", "1")]).await;
    assert!(
        done.said().contains("Your report is incident"),
        "{}",
        done.body
    );
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
    assert!(
        r1.said().contains("I did not hear a choice."),
        "{}",
        r1.body
    );
    assert!(!r1.said().contains("Hello"), "no second greeting");
    let r2 = answer(&t, &r1, &call, ALICE, &[("Digits", "9")]).await;
    assert!(r2.said().contains("Sorry, that is not an option."));
    let r3 = answer(&t, &r2, &call, ALICE, &[]).await;
    assert_eq!(r3.said(), "No option was chosen. Goodbye.");
    assert_hangs_up(&r3);

    // The team menu too.
    let call = sid("CA", 51);
    let menu = ring(&t, &call, ALICE, LINE).await;
    let teams = answer(&t, &menu, &call, ALICE, &[("Digits", "1")]).await;
    let bad = answer(&t, &teams, &call, ALICE, &[("Digits", "8")]).await;
    assert!(
        bad.said().contains("Sorry, that is not an option.") && bad.said().contains("For Database")
    );

    // Silence at the record prompt: asked again, then the call ends.
    let record = answer(&t, &bad, &call, ALICE, &[("Digits", "2")]).await;
    let redirect = record.texts("Redirect")[0].clone();
    let r = t
        .post(&redirect, &call_params(&call, ALICE, LINE, &[]))
        .await;
    assert!(r.has("Record"), "{}", r.body);
    let redirect = r.texts("Redirect")[0].clone();
    let r = t
        .post(&redirect, &call_params(&call, ALICE, LINE, &[]))
        .await;
    let redirect = r.texts("Redirect")[0].clone();
    let r = t
        .post(&redirect, &call_params(&call, ALICE, LINE, &[]))
        .await;
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
    let menu = ring(&t, &call, ALICE, LINE).await;
    let teams = answer(&t, &menu, &call, ALICE, &[("Digits", "1")]).await;
    let record = answer(&t, &teams, &call, ALICE, &[("Digits", "1")]).await;
    let rec = sid("RE", 7);
    let r = answer(
        &t,
        &record,
        &call,
        ALICE,
        &[
            ("RecordingSid", &rec),
            ("RecordingUrl", &recording_url(&rec)),
            ("RecordingDuration", "9"),
            ("Digits", "hangup"),
        ],
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(!r.has("Say"));
    let (sys_id, _) = created(&t, &call).await.expect("filed");
    assert!(t.stack.escalation(&sys_id).await.is_some());

    // Hung up at the confirmation prompt: the transcription callback files it.
    let call = sid("CA", 71);
    let menu = ring(&t, &call, BOB, LINE).await;
    let teams = answer(&t, &menu, &call, BOB, &[("Digits", "1")]).await;
    let record = answer(&t, &teams, &call, BOB, &[("Digits", "1")]).await;
    let transcribe_url = record.attrs("Record", "transcribeCallback")[0].clone();
    let rec = sid("RE", 71);
    let confirm = recorded(&t, &record, &call, BOB, &rec, "25").await;
    assert!(confirm.has("Gather"));
    assert!(created(&t, &call).await.is_none());
    let r = transcription(
        &t,
        &transcribe_url,
        &call,
        BOB,
        Transcript {
            recording: &rec,
            sid: &sid("TR", 71),
            status: "completed",
            text: "Payments are failing.",
        },
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
    assert!(
        done.said().contains("Sorry, the incident could not be created because the service desk system did not answer. Your message was recorded."),
        "{}",
        done.body
    );
    assert_hangs_up(&done);
    t.stack.sn.clear_faults();

    // A caller who is not on the roster cannot be checked while ServiceNow is down.
    t.stack.sn.inject(down("GET", "/table/sys_user", 503));
    let r = ring(&t, &sid("CA", 81), "+15550100042", LINE).await;
    assert!(
        r.said().contains("your number cannot be checked right now"),
        "{}",
        r.body
    );
    assert_hangs_up(&r);
}

// ---------------------------------------------------------------------------------------
// Who may call

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

// ---------------------------------------------------------------------------------------
// Put through (menu 2)

#[tokio::test]
async fn put_through_connects_the_first_person_who_takes_the_call() {
    let t = InboundStack::start(test_config()).await;
    let call = sid("CA", 15);
    let dial = put_through(&t, &call, ALICE, "1").await;
    assert!(
        dial.said()
            .contains("Putting you through to the Database team. Calling Bob Agent. Please hold."),
        "{}",
        dial.body
    );
    assert_eq!(dial.texts("Number"), [BOB]);
    assert_eq!(dial.attrs("Dial", "timeout"), ["15"]);
    assert_eq!(dial.attrs("Dial", "callerId"), [LINE]);
    let whisper_url = dial.attrs("Number", "url")[0].clone();
    assert!(whisper_url.starts_with(&format!("{BASE}/voice/whisper?")));

    // Bob's leg: the announcement gathers a key, so voicemail cannot take the call.
    let leg = sid("CA", 1500);
    let whisper_params = leg_params(&leg, &call, BOB);
    let whisper = t.post(&whisper_url, &whisper_params).await;
    assert!(
        whisper.said().contains("This is the IT escalation line. Alice Agent is calling for the Database team. Press any key to take the call."),
        "{}",
        whisper.body
    );
    assert_eq!(whisper.attrs("Gather", "timeout"), ["6"]);
    assert!(whisper.said().contains("No key was pressed"));
    assert_hangs_up(&whisper);

    let mut key_params = whisper_params.clone();
    key_params.push(("Digits", "5"));
    let connect = t.post(&whisper.action(), &key_params).await;
    assert_eq!(
        connect.said(),
        "Connecting you now. Incident I N C, 0 0 1 0 0 0 1 is open for this call."
    );
    assert!(
        !connect.has("Hangup"),
        "ending the whisper document connects the call"
    );

    // The incident for the call: assigned to Bob, in progress, not escalated.
    let p = &incident_posts(&t)[0];
    assert_eq!(p["assigned_to"], user_sys_id("bob.agent"));
    assert_eq!(p["state"], "2");
    assert_eq!(p["caller_id"], user_sys_id("alice.agent"));
    assert_eq!(p["correlation_id"], call.as_str());
    assert_eq!(
        p["short_description"],
        "Phone call from Alice Agent put through to Bob Agent (Database)"
    );
    assert_no_full_numbers(&p.to_string());
    let (sys_id, _) = created(&t, &call).await.unwrap();
    assert!(
        t.stack.escalation(&sys_id).await.is_none(),
        "someone is already on it: no escalation"
    );

    // The call ends: the caller hears goodbye; the incident notes how long it lasted.
    let ended = bridged_call_ended(&t, &dial, &call, &leg, "95").await;
    assert_eq!(ended.said(), "The call has ended. Goodbye.");
    let notes = t.stack.sn.work_notes(&sys_id);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("Alice Agent was put through to Bob Agent (+1******0002)")),
        "{notes:#?}"
    );
    assert!(
        notes.iter().any(
            |n| n.contains("The call between Alice Agent and Bob Agent ended after 1 min 35 s")
        ),
        "{notes:#?}"
    );
    assert_eq!(incident_posts(&t).len(), 1);
    assert!(t.stack.twilio.executions().is_empty(), "no Studio calls");
}

#[tokio::test]
async fn put_through_moves_on_and_ends_in_voicemail() {
    let t = InboundStack::start(test_config()).await;
    t.stack.twilio.script(ALICE, vec![press("1")]);
    let call = sid("CA", 16);
    let bob = put_through(&t, &call, ALICE, "1").await;
    assert_eq!(bob.texts("Number"), [BOB]);

    let carol = answer(
        &t,
        &bob,
        &call,
        ALICE,
        &[("DialCallStatus", "no-answer"), ("DialBridged", "false")],
    )
    .await;
    assert!(
        carol
            .said()
            .contains("Bob Agent did not answer. Calling Carol Manager. Please hold."),
        "{}",
        carol.body
    );
    assert_eq!(carol.texts("Number"), [CAROL]);

    // Carol's phone answered but nobody pressed a key (a voicemail box): not connected.
    let vm = answer(
        &t,
        &carol,
        &call,
        ALICE,
        &[
            ("DialCallStatus", "completed"),
            ("DialCallDuration", "12"),
            ("DialBridged", "false"),
        ],
    )
    .await;
    let said = vm.said();
    assert!(
        said.contains("Carol Manager did not take the call."),
        "{said}"
    );
    assert!(
        said.contains("Nobody on call could be reached. Please leave a message after the tone"),
        "{said}"
    );
    assert!(vm.has("Record"));
    assert!(incident_posts(&t).is_empty());

    let rec = sid("RE", 16);
    let confirm = recorded(&t, &vm, &call, ALICE, &rec, "18").await;
    let done = answer(&t, &confirm, &call, ALICE, &[("Digits", "1")]).await;
    assert!(
        done.said()
            .contains("The on-call team is being called now."),
        "{}",
        done.body
    );
    let p = &incident_posts(&t)[0];
    assert_eq!(
        p["short_description"],
        "Phone message from Alice Agent for Database (nobody answered)"
    );
    assert!(
        p["description"]
            .as_str()
            .unwrap()
            .contains("nobody answered (tried: Bob Agent, Carol Manager)"),
        "{}",
        p["description"]
    );
    let (sys_id, _) = created(&t, &call).await.unwrap();
    t.stack.settle(&[&sys_id], SETTLE).await;
    assert_eq!(
        t.stack
            .escalation(&sys_id)
            .await
            .unwrap()
            .escalation
            .status(),
        Status::Accepted
    );
}

#[tokio::test]
async fn put_through_never_calls_the_caller_and_stops_at_max_people() {
    let t = InboundStack::start(test_config()).await;
    // Bob calls for the Database team (Bob, Carol): only Carol is called.
    let call = sid("CA", 17);
    let dial = put_through(&t, &call, BOB, "1").await;
    assert_eq!(dial.texts("Number"), [CAROL]);
    let vm = answer(&t, &dial, &call, BOB, &[("DialCallStatus", "busy")]).await;
    assert!(
        vm.said()
            .contains("Carol Manager is busy. Nobody on call could be reached."),
        "{}",
        vm.body
    );

    // Network (everyone; max_people 2): Alice, Bob, then voicemail without Carol.
    let call = sid("CA", 18);
    let menu = ring(&t, &call, CAROL, LINE).await;
    let teams = answer(&t, &menu, &call, CAROL, &[("Digits", "2")]).await;
    let first = answer(&t, &teams, &call, CAROL, &[("Digits", "2")]).await;
    assert_eq!(first.texts("Number"), [ALICE]);
    let second = answer(&t, &first, &call, CAROL, &[("DialCallStatus", "failed")]).await;
    assert!(second.said().contains("Alice Agent could not be reached."));
    assert_eq!(second.texts("Number"), [BOB]);
    let vm = answer(
        &t,
        &second,
        &call,
        CAROL,
        &[("DialCallStatus", "no-answer")],
    )
    .await;
    assert!(
        vm.has("Record") && vm.said().contains("Nobody on call could be reached"),
        "{}",
        vm.body
    );
}

#[tokio::test]
async fn caller_hanging_up_during_put_through_files_nothing() {
    let t = InboundStack::start(test_config()).await;
    let call = sid("CA", 19);
    let dial = put_through(&t, &call, ALICE, "1").await;
    let r = answer(
        &t,
        &dial,
        &call,
        ALICE,
        &[("DialCallStatus", "canceled"), ("CallStatus", "completed")],
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(!r.has("Say") && !r.has("Dial"), "{}", r.body);
    assert!(incident_posts(&t).is_empty());
}

// ---------------------------------------------------------------------------------------
// Text messages

#[tokio::test]
async fn a_text_from_an_allowed_sender_opens_an_incident() {
    let t = InboundStack::start(test_config()).await;
    t.stack.twilio.script(ALICE, vec![press("1")]);
    let msg = sid("SM", 20);
    let text = "Checkout is down for all EU customers since 09:40 <urgent> & rising";
    let r = t.post("/sms", &sms_params(&msg, ALICE, LINE, text)).await;
    assert_eq!(r.status, 200);
    assert!(r.content_type.starts_with("text/xml"));
    assert_eq!(
        r.texts("Message"),
        [
            "Thank you. Your report is incident INC0010001 for the Database team. The on-call team is being called now."
        ]
    );
    let p = &incident_posts(&t)[0];
    assert!(
        p["description"]
            .as_str()
            .unwrap()
            .contains(&format!("Message:\n{text}"))
    );
    assert_eq!(
        p["short_description"],
        format!("SMS from Alice Agent: {text}")
    );
    assert_eq!(p["caller_id"], user_sys_id("alice.agent"));
    assert_eq!(p["correlation_id"], msg.as_str());
    assert!(p.get("contact_type").is_none());
    let (sys_id, _) = created(&t, &msg).await.unwrap();
    t.stack.settle(&[&sys_id], SETTLE).await;
    assert_eq!(
        t.stack
            .escalation(&sys_id)
            .await
            .unwrap()
            .escalation
            .status(),
        Status::Accepted
    );

    // Twilio redelivers the same message: same incident, no second one.
    let r = t.post("/sms", &sms_params(&msg, ALICE, LINE, text)).await;
    assert!(r.texts("Message")[0].contains("INC0010001"));
    assert_eq!(incident_posts(&t).len(), 1);
}

#[tokio::test]
async fn texts_from_unknown_senders_and_empty_texts_are_refused_with_a_reply() {
    let t = InboundStack::start(test_config()).await;
    let r = t
        .post(
            "/sms",
            &sms_params(&sid("SM", 21), "+15550199999", LINE, "let me in"),
        )
        .await;
    assert_eq!(
        r.texts("Message"),
        [
            "The IT escalation line only accepts reports from registered staff. Your message was not recorded. If you need help, please contact the service desk."
        ]
    );
    let r = t
        .post(
            "/sms",
            &sms_params(&sid("SM", 22), "SomeBrand", LINE, "promo"),
        )
        .await;
    assert!(r.texts("Message")[0].contains("only accepts reports from registered staff"));
    let r = t
        .post("/sms", &sms_params(&sid("SM", 23), ALICE, LINE, "   "))
        .await;
    assert!(r.texts("Message")[0].starts_with("Your message was empty."));
    let r = t
        .post(
            "/sms",
            &sms_params(&sid("SM", 24), ALICE, PIN_LINE, "db down"),
        )
        .await;
    assert!(r.texts("Message")[0].contains("does not take reports by text message"));
    assert!(incident_posts(&t).is_empty());
    assert!(t.stack.twilio.requests().is_empty());
}

#[tokio::test]
async fn public_base_url_is_what_gets_signed_and_handed_out() {
    let t = InboundStack::start(test_config()).await;
    let base = "https://esc.example.com/inbound";
    let inbound = escalation_inbound::Inbound {
        public_base_url: Some(base.to_string()),
        ..t.inbound()
    };
    let call = sid("CA", 25);
    let params = call_params(&call, ALICE, LINE, &[]);
    let pairs: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let body = serde_urlencoded::to_string(&pairs).unwrap();
    // Twilio called the custom domain; the function URL sees its own host and path.
    let sig = twilio_webhook::sign(AUTH_TOKEN, &format!("{base}/voice"), &pairs);
    let event = InboundStack::event(
        &format!("{BASE}/voice"),
        "POST",
        &body,
        "application/x-www-form-urlencoded",
        Some(&sig),
    );
    let req = lambda_http::request::from_str(&event.to_string()).unwrap();
    let resp = escalation_lambda::handlers::inbound::handle(&inbound, req)
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let xml = String::from_utf8_lossy(resp.body().as_ref()).into_owned();
    assert!(
        xml.contains(&format!("action=\"{base}/voice/menu?")),
        "{xml}"
    );
    // Signed for the function URL instead: refused.
    let sig = twilio_webhook::sign(AUTH_TOKEN, &format!("{BASE}/voice"), &pairs);
    let event = InboundStack::event(
        &format!("{BASE}/voice"),
        "POST",
        &body,
        "application/x-www-form-urlencoded",
        Some(&sig),
    );
    let req = lambda_http::request::from_str(&event.to_string()).unwrap();
    let resp = escalation_lambda::handlers::inbound::handle(&inbound, req)
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
}

// ---------------------------------------------------------------------------------------
// Dead ends: every one says what happened

#[tokio::test]
async fn texts_that_cannot_be_filed_say_why() {
    let t = InboundStack::start(test_config()).await;
    let said = |r: &Reply| r.texts("Message").join(" ");

    // A number this line is not configured for.
    let r = t
        .post(
            "/sms",
            &sms_params(&sid("SM", 30), ALICE, "+15550107777", "db down"),
        )
        .await;
    assert_eq!(said(&r), "This number does not take incident reports.");

    // No usable MessageSid.
    let r = t
        .post("/sms", &sms_params("not-a-sid", ALICE, LINE, "db down"))
        .await;
    assert!(said(&r).contains("could not be processed"), "{}", r.body);

    // A sender not on the roster while ServiceNow cannot be asked who it is.
    t.stack.sn.inject(down("GET", "/table/sys_user", 503));
    let r = t
        .post(
            "/sms",
            &sms_params(&sid("SM", 31), "+15550100042", LINE, "db down"),
        )
        .await;
    assert!(
        said(&r).contains("your number cannot be checked right now"),
        "{}",
        r.body
    );
    t.stack.sn.clear_faults();

    // ServiceNow refuses to create the incident.
    t.stack.sn.inject(down("POST", "/table/incident", 500));
    let r = t
        .post("/sms", &sms_params(&sid("SM", 32), ALICE, LINE, "db down"))
        .await;
    assert!(
        said(&r).contains("the incident could not be created"),
        "{}",
        r.body
    );
    t.stack.sn.clear_faults();
    assert!(created(&t, &sid("SM", 32)).await.is_none());
    assert!(t.stack.twilio.executions().is_empty(), "nobody was called");

    // The incident is filed but Twilio refuses every call: the sender is told to call the
    // service desk as well, and the incident exists.
    t.stack.twilio.inject(down("POST", "/Executions", 500));
    let msg = sid("SM", 33);
    let r = t
        .post("/sms", &sms_params(&msg, ALICE, LINE, "db down"))
        .await;
    assert!(
        said(&r).contains(
            "The automatic call-out could not be started, so please also call the service desk."
        ),
        "{}",
        r.body
    );
    assert!(
        said(&r).contains("Your report is incident INC"),
        "{}",
        r.body
    );
    assert!(created(&t, &msg).await.is_some());
}

#[tokio::test]
async fn a_text_for_a_team_that_does_not_escalate_is_filed_without_calls() {
    let mut config = test_config();
    config["numbers"][0]["sms"]["group"] = 2.into(); // Network: P5
    let t = InboundStack::start(config).await;
    let msg = sid("SM", 34);
    let r = t
        .post(
            "/sms",
            &sms_params(&msg, ALICE, LINE, "wifi slow on floor 3"),
        )
        .await;
    assert_eq!(
        r.texts("Message"),
        [
            "Thank you. Your report is incident INC0010001 for the Network team. The team will pick it up."
        ]
    );
    let (sys_id, _) = created(&t, &msg).await.expect("incident");
    assert!(t.stack.escalation(&sys_id).await.is_none(), "no escalation");
    assert!(t.stack.twilio.executions().is_empty(), "no calls");
}

#[tokio::test]
async fn confirmation_limits_send_the_message_instead_of_looping() {
    let t = InboundStack::start(test_config()).await;
    let call = sid("CA", 30);
    let (mut confirm, _) = record_report(&t, &call, ALICE, "1", &sid("RE", 300), "9").await;
    // Three re-recordings are allowed; the fourth "2" sends the last message.
    for n in 1..=3u64 {
        let again = answer(&t, &confirm, &call, ALICE, &[("Digits", "2")]).await;
        assert!(
            again.said().contains("let's record it again"),
            "{}",
            again.body
        );
        let rec = sid("RE", 300 + n);
        confirm = recorded(&t, &again, &call, ALICE, &rec, "9").await;
    }
    let done = answer(&t, &confirm, &call, ALICE, &[("Digits", "2")]).await;
    assert!(
        done.said()
            .contains("You have recorded the message several times; the last one is being sent."),
        "{}",
        done.body
    );
    assert!(
        done.said().contains("Your report is incident"),
        "{}",
        done.body
    );
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
        assert!(
            r.said().contains("Sorry, that is not an option."),
            "{}",
            r.body
        );
    }
    let done = answer(&t, &r, &call, BOB, &[("Digits", "7")]).await;
    assert!(
        done.said().contains("Your message is being sent."),
        "{}",
        done.body
    );
    assert!(
        done.said().contains("Your report is incident"),
        "{}",
        done.body
    );
    assert_eq!(incident_posts(&t).len(), 2);
}

#[tokio::test]
async fn a_recording_callback_without_a_usable_recording_asks_again() {
    let t = InboundStack::start(test_config()).await;
    let call = sid("CA", 32);
    let menu = ring(&t, &call, ALICE, LINE).await;
    let teams = answer(&t, &menu, &call, ALICE, &[("Digits", "1")]).await;
    let record = answer(&t, &teams, &call, ALICE, &[("Digits", "1")]).await;
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
    assert!(
        r.said().contains("Sorry, the recording did not work."),
        "{}",
        r.body
    );
    assert!(r.has("Record"), "asked to record again: {}", r.body);
    assert!(incident_posts(&t).is_empty());
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

#[tokio::test]
async fn a_step_reached_without_its_call_state_ends_politely() {
    let t = InboundStack::start(test_config()).await;
    let call = sid("CA", 34);
    // Signed, but not a URL this line handed out: no admitted caller in the state.
    for step in ["/voice/menu", "/voice/confirm", "/voice/dialed"] {
        let r = t
            .post(step, &call_params(&call, ALICE, LINE, &[("Digits", "1")]))
            .await;
        assert_eq!(r.status, 200, "{step}");
        assert!(
            r.said().contains(
                "Sorry, something went wrong and this call cannot continue. Please call again."
            ),
            "{step}: {}",
            r.body
        );
        assert_hangs_up(&r);
    }
    // An admitted caller whose confirmation carries no recording.
    let menu = ring(&t, &call, ALICE, LINE).await;
    let teams = answer(&t, &menu, &call, ALICE, &[("Digits", "1")]).await;
    let record = answer(&t, &teams, &call, ALICE, &[("Digits", "1")]).await;
    let confirm_url = record.action().replace("/voice/recorded", "/voice/confirm");
    let r = t
        .post(
            &confirm_url,
            &call_params(&call, ALICE, LINE, &[("Digits", "1")]),
        )
        .await;
    assert!(r.said().contains("something went wrong"), "{}", r.body);
    assert!(incident_posts(&t).is_empty());
}

#[tokio::test]
async fn put_through_without_a_key_or_without_servicenow_still_explains_itself() {
    let t = InboundStack::start(test_config()).await;
    let call = sid("CA", 35);
    let dial = put_through(&t, &call, ALICE, "1").await;
    let whisper_url = dial.attrs("Number", "url")[0].clone();
    let leg = sid("CA", 3500);
    let leg_params = leg_params(&leg, &call, BOB);
    let whisper = t.post(&whisper_url, &leg_params).await;

    // The gather's action with no digit (a machine, or Bob said nothing): not taken.
    let mut silent = leg_params.clone();
    silent.push(("Digits", ""));
    let r = t.post(&whisper.action(), &silent).await;
    assert_eq!(r.said(), "No key was pressed. Goodbye.");
    assert_hangs_up(&r);
    assert!(
        incident_posts(&t).is_empty(),
        "nothing filed for a call not taken"
    );

    // Bob presses a key while ServiceNow refuses new incidents: he is connected anyway and
    // told to record the call himself.
    t.stack.sn.inject(down("POST", "/table/incident", 500));
    let mut key = leg_params.clone();
    key.push(("Digits", "1"));
    let r = t.post(&whisper.action(), &key).await;
    assert_eq!(
        r.said(),
        "Connecting you now. The incident could not be created automatically, so please record this call in ServiceNow."
    );
    assert!(!r.has("Hangup"), "the call is still connected");
    // The call ends; the caller hears goodbye even though there is no incident to note it on.
    let ended = bridged_call_ended(&t, &dial, &call, &leg, "40").await;
    assert_eq!(ended.said(), "The call has ended. Goodbye.");
    assert!(created(&t, &call).await.is_none());
}
