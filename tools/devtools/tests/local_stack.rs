//! The README's first command as a test: scenarios played on the real Lambda binaries
//! (incident-trigger through its function URL, flow-events and incident-updater through the
//! Invoke API, escalation-sweeper on a schedule) under `cargo lambda watch`, against moto
//! server and the fakes; then what ServiceNow and Twilio received, and that no process is
//! left behind.
//!
//! Needs cargo-lambda on PATH (scripts/test.sh installs it into .venv and puts .venv/bin on
//! PATH) and MOTO_ENDPOINT. Without cargo-lambda this test fails, saying how to install it.

mod support;

use escalation_core::escalation::Status;
use escalation_devtools::local::{LocalOptions, LocalStack, find_cargo_lambda, proc};
use escalation_devtools::play::{play, sys_id_for};
use escalation_devtools::scenario;
use escalation_devtools::stack::{ALICE, BOB, CAROL, user_sys_id};
use escalation_devtools::timeline::{RunSummary, Timeline, sn_writes};
use serde_json::Value;
use std::time::Duration;
use support::dialled_for;

const SCENARIO_TIMEOUT: Duration = Duration::from_secs(120);

async fn run(stack: &LocalStack, tl: &mut Timeline, name: &str) -> RunSummary {
    let sc = scenario::load(name).unwrap();
    let run = play(stack, name, &sc, tl, SCENARIO_TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}\n{}", stack.log_tail(40)));
    tl.summary(&run);
    assert_eq!(run.error, None, "{name}: {}", stack.log_tail(40));
    run
}

fn field(row: &serde_json::Map<String, Value>, name: &str) -> String {
    row.get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenarios_run_on_the_real_lambda_binaries_under_cargo_lambda_watch() {
    if let Err(e) = find_cargo_lambda() {
        panic!("{e}");
    }
    let mut tl = Timeline::new(false, false);
    let stack = LocalStack::start(LocalOptions::default(), &mut tl)
        .await
        .unwrap_or_else(|e| panic!("the local stack did not start: {e}"));
    let running = stack.processes();
    assert!(
        running.len() >= 6,
        "cargo-lambda and the five functions run as processes: {running:?}"
    );

    // accept-first: Alice presses 1 on the first call.
    let accepted = run(&stack, &mut tl, "accept-first").await;
    assert!(accepted.ok, "{accepted:#?}");
    let r = &accepted.incidents[0];
    assert_eq!(r.trigger_status, 202);
    assert_eq!(r.status, Some(Status::Accepted));
    assert_eq!(r.accepted_by.as_deref(), Some("Alice Agent"));
    assert_eq!((r.attempts, r.calls_placed), (1, 1));
    let id = sys_id_for("INC0010001");
    assert_eq!(r.sys_id, id);
    assert_eq!(dialled_for(&stack.twilio, &id), [ALICE]);
    let incident = stack.sn.incident(&id).unwrap();
    assert_eq!(field(&incident, "state"), "2", "In Progress: {incident:?}");
    assert_eq!(
        field(&incident, "assigned_to"),
        user_sys_id("alice.agent"),
        "assigned to Alice's ServiceNow user: {incident:?}"
    );
    let notes = stack.sn.work_notes(&id);
    assert_eq!(notes.len(), 2, "started + attempt 1: {notes:#?}");
    assert!(
        notes[0].contains("Phone escalation started"),
        "{}",
        notes[0]
    );
    assert!(notes[1].contains("ACCEPTED by Alice Agent"), "{}", notes[1]);
    assert!(
        notes.iter().all(|n| !n.contains("5550100001")),
        "phone numbers are masked in notes: {notes:#?}"
    );
    // The updater wrote work notes (never comments) and the acceptance in one PATCH.
    assert!(stack.sn.comments(&id).is_empty());
    let writes = sn_writes(&stack.sn, &id);
    assert_eq!(writes.len(), 2);
    assert_eq!(writes[1].body["state"], "2");
    assert!(writes[1].body["work_notes"].is_string());

    // nobody-answers: everyone is called twice, then the incident says nobody accepted.
    let exhausted = run(&stack, &mut tl, "nobody-answers").await;
    assert!(exhausted.ok, "{exhausted:#?}");
    let r = &exhausted.incidents[0];
    assert_eq!(r.status, Some(Status::Exhausted));
    assert_eq!(r.accepted_by, None);
    assert_eq!((r.attempts, r.calls_placed), (6, 6));
    let id = sys_id_for("INC0010004");
    assert_eq!(
        dialled_for(&stack.twilio, &id),
        [ALICE, ALICE, BOB, BOB, CAROL, CAROL]
    );
    let incident = stack.sn.incident(&id).unwrap();
    assert_ne!(field(&incident, "state"), "2", "{incident:?}");
    assert_eq!(field(&incident, "assigned_to"), "", "{incident:?}");
    let notes = stack.sn.work_notes(&id);
    assert_eq!(notes.len(), 7, "started + 6 attempts: {notes:#?}");
    assert!(notes[6].contains("NOBODY ACCEPTED"), "{}", notes[6]);
    assert_eq!(stack.queue_depth().await, 0, "every update was applied");

    // inbound: Carol phones the escalation line (voice-inbound through its function URL,
    // signed as Twilio signs), reports a problem; the incident it files escalates.
    let inbound = run(&stack, &mut tl, "inbound").await;
    assert!(inbound.ok, "{inbound:#?}");
    let r = &inbound.incidents[0];
    assert_eq!(r.status, Some(Status::Accepted));
    assert_eq!(r.accepted_by.as_deref(), Some("Bob Agent"));
    assert_eq!(dialled_for(&stack.twilio, &r.sys_id), [ALICE, BOB]);
    let incident = stack.sn.incident(&r.sys_id).unwrap();
    assert_eq!(field(&incident, "caller_id"), user_sys_id("carol.manager"));
    assert_eq!(field(&incident, "contact_type"), "phone");
    assert_eq!(field(&incident, "assigned_to"), user_sys_id("bob.agent"));
    let notes = stack.sn.work_notes(&r.sys_id);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("refusing connections since ten o'clock")),
        "the transcription is a work note: {notes:#?}"
    );

    // What the five functions logged while playing all of the above: structured JSON, with
    // the incident and escalation named, no phone number in full, no secret.
    let log = stack.log_tail(usize::MAX);
    check_logs(&log);

    // Nothing outlives the stack: cargo-lambda and every function process are gone.
    let stopped = stack.stop();
    assert!(stopped.len() >= 6, "{stopped:?}");
    let left: Vec<u32> = stopped.into_iter().filter(|p| proc::alive(*p)).collect();
    assert!(left.is_empty(), "still running after stop: {left:?}");
}

/// The functions' log lines (cargo-lambda prefixes nothing; its own lines are not JSON).
fn check_logs(log: &str) {
    use escalation_devtools::inbound_support::AUTH_TOKEN;
    use escalation_devtools::stack::{API_KEY_SECRET, FROM_NUMBER, HMAC_KEY_B64, SN_PASSWORD};
    for secret in [API_KEY_SECRET, SN_PASSWORD, HMAC_KEY_B64, AUTH_TOKEN] {
        assert!(!log.contains(secret), "a secret is in the logs");
    }
    for number in [ALICE, BOB, CAROL, FROM_NUMBER] {
        let digits = number.trim_start_matches('+');
        assert!(
            !log.contains(digits),
            "{number} in full in the logs: {}",
            log.lines().find(|l| l.contains(digits)).unwrap_or_default()
        );
    }
    let events: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("level").is_some())
        .collect();
    assert!(
        events.len() > 50,
        "the functions log JSON lines: {} found",
        events.len()
    );
    let field = |v: &Value, k: &str| {
        v.get(k)
            .or_else(|| v.get("fields").and_then(|f| f.get(k)))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    // Every call placed names its escalation; the masked number is what appears.
    let placed: Vec<&Value> = events
        .iter()
        .filter(|v| field(v, "message").as_deref() == Some("call placed"))
        .collect();
    assert!(!placed.is_empty(), "no 'call placed' line");
    for v in &placed {
        assert!(
            field(v, "escalation_id").is_some_and(|id| id.starts_with("ESC-")),
            "{v}"
        );
    }
    assert!(
        events
            .iter()
            .any(|v| field(v, "incident").is_some_and(|n| n.starts_with("INC"))),
        "incident numbers are logged as a field"
    );
    assert!(
        log.contains("+1******0001"),
        "masked numbers are what gets logged"
    );
}
