//! The inbound line through its real entry point: function-URL events carrying Twilio's
//! form-encoded webhooks, signed with X-Twilio-Signature, into `handlers::inbound`, against
//! moto and the fakes. Each test follows the TwiML it gets back (the `action` URLs) the way
//! Twilio would, and checks what the caller hears and what ServiceNow received. By
//! behaviour: `signatures`, `report` (menu 1), `callers`, `put_through` (menu 2), `sms`.

#[path = "../support/mod.rs"]
mod support;

mod bridge;
mod callers;
mod put_through;
mod put_through_bridge;
mod report;
mod signatures;
mod sms;
mod sms_reply;

use escalation_core::escalation::Status;
use escalation_devtools::inbound_support::{
    AUTH_TOKEN, BASE, DB_GROUP, InboundStack, LINE, PIN, PIN_LINE, Reply, call_params,
    recording_url, sid, sms_params, test_config,
};
use escalation_devtools::kit;
use escalation_devtools::stack::{ALICE, BOB, CAROL, user_sys_id};
use escalation_inbound::webhook_signature as twilio_webhook;
use serde_json::Value;
use support::{SETTLE, down, press};

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

/// The status of the incident's escalation once the stack has settled.
async fn settled(t: &InboundStack, sys_id: &str) -> Status {
    t.stack.settle(&[sys_id], SETTLE).await;
    t.stack
        .escalation(sys_id)
        .await
        .unwrap()
        .escalation
        .status()
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

/// Ring, choose `choice` in the menu (1 report, 2 put through) and team `team`: the reply.
async fn choose(t: &InboundStack, call: &str, from: &str, choice: &str, team: &str) -> Reply {
    let menu = ring(t, call, from, LINE).await;
    let teams = answer(t, &menu, call, from, &[("Digits", choice)]).await;
    answer(t, &teams, call, from, &[("Digits", team)]).await
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
    let record = choose(t, call, from, "1", team).await;
    assert!(record.has("Record"), "{}", record.body);
    let transcribe_url = record.attrs("Record", "transcribeCallback")[0].clone();
    let confirm = recorded(t, &record, call, from, rec, secs, Some("#")).await;
    (confirm, transcribe_url)
}

/// The caller recorded `secs` seconds as recording `rec`, ended by `key` (`#`, `hangup` when
/// the caller hung up, or none): Twilio posts it to `reply`'s action.
async fn recorded(
    t: &InboundStack,
    reply: &Reply,
    call: &str,
    from: &str,
    rec: &str,
    secs: &str,
    key: Option<&str>,
) -> Reply {
    let url = recording_url(rec);
    let mut params = vec![
        ("RecordingSid", rec),
        ("RecordingUrl", url.as_str()),
        ("RecordingDuration", secs),
    ];
    params.extend(key.map(|key| ("Digits", key)));
    answer(t, reply, call, from, &params).await
}

/// Nothing entered: Twilio follows `reply`'s `<Redirect>`.
async fn follow_redirect(t: &InboundStack, reply: &Reply, call: &str, from: &str) -> Reply {
    let redirect = reply.texts("Redirect")[0].clone();
    t.post(&redirect, &call_params(call, from, LINE, &[])).await
}

/// The caller hears `text`.
#[track_caller]
fn assert_says(r: &Reply, text: &str) {
    assert!(r.said().contains(text), "expected {text:?} in: {}", r.body);
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

/// Ring, choose "put through" and team `team`: the `<Dial>` that comes back.
async fn put_through(t: &InboundStack, call: &str, from: &str, team: &str) -> Reply {
    choose(t, call, from, "2", team).await
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

impl<'a> Transcript<'a> {
    fn completed(recording: &'a str, sid: &'a str, text: &'a str) -> Self {
        Transcript {
            recording,
            sid,
            status: "completed",
            text,
        }
    }

    fn failed(recording: &'a str, sid: &'a str) -> Self {
        Transcript {
            recording,
            sid,
            status: "failed",
            text: "",
        }
    }
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
