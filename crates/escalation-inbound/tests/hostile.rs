//! Webhooks are signed by Twilio, but what they carry is still input: no parameter makes a
//! step panic (a panic is a failed webhook and, for the caller, a dead line).

mod support;

use proptest::prelude::*;
use support::*;

/// Every voice step and the SMS webhook, with `params`.
async fn every_step(line: &Line, params: &[(&str, &str)]) {
    for step in [
        "/voice",
        "/voice/pin",
        "/voice/menu",
        "/voice/group",
        "/voice/recorded",
        "/voice/confirm",
        "/voice/whisper",
        "/voice/whisper-key",
        "/voice/dialed",
        "/voice/transcription",
    ] {
        let (path, hook) = webhook(step, params);
        let _ = line.inbound.voice(&path, &hook).await;
    }
    let (_, hook) = webhook("/sms", params);
    let _ = line.inbound.sms(&hook).await;
}

#[tokio::test]
async fn a_caller_number_with_spaces_around_it_does_not_panic_the_line() {
    let line = Line::new();
    let call_sid = sid("CA", 1);
    for from in [" +15550100002", "+15550100002 ", "\t+15550100002\n"] {
        let params = call(&call_sid, from, &[]);
        let (path, hook) = webhook("/voice", &params);
        let answer = line.inbound.voice(&path, &hook).await;
        assert!(answer.is_some(), "{from:?}");
        let sms = [
            ("MessageSid", "SM0123456789abcdef0123456789abcdef"),
            ("From", from),
            ("To", LINE),
            ("Body", "DB down"),
        ];
        let (_, hook) = webhook("/sms", &sms);
        let _ = line.inbound.sms(&hook).await;
    }
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(" +15550100002".to_string()),
        Just(BOB.to_string()),
        Just("CA0123456789abcdef0123456789abcdef".to_string()),
        Just("é".repeat(40)),
        ".{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn no_webhook_parameters_make_a_step_panic(
        from in text(), call_sid in text(), digits in text(), body in text(),
        recording in text(), status in text(), index in text(),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
        rt.block_on(async {
            let line = Line::new();
            let params = [
                ("From", from.as_str()), ("CallSid", call_sid.as_str()), ("To", LINE),
                ("Digits", digits.as_str()), ("Body", body.as_str()), ("MessageSid", call_sid.as_str()),
                ("RecordingSid", recording.as_str()), ("RecordingUrl", recording.as_str()),
                ("RecordingDuration", digits.as_str()), ("DialCallStatus", status.as_str()),
                ("CallStatus", status.as_str()), ("DialCallDuration", digits.as_str()),
                ("TranscriptionText", body.as_str()), ("TranscriptionStatus", status.as_str()),
                ("TranscriptionSid", recording.as_str()), ("index", index.as_str()),
            ];
            every_step(&line, &params).await;
        });
    }
}
