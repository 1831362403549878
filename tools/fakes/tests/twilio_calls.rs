//! The Twilio fake's Call resource against a real HTTP client: an execution's call listed,
//! fetched and hung up (`Status=completed` ends a ringing or answered call and its
//! execution, with the flow-end event; `canceled` leaves an answered call running), every
//! request recorded, and Twilio's 404 and 400 bodies.

mod support;

use escalation_fakes::twilio::AgentStep;
use reqwest::StatusCode;
use serde_json::Value;
use support::studio::{FROM, Fx};
use support::{json_of, send};

const ALICE: &str = "+15550100001";

fn calls_url(fx: &Fx, tail: &str) -> String {
    format!(
        "{}/2010-04-01/Accounts/{}/Calls{tail}",
        fx.tw.base_url(),
        fx.cfg.account_sid
    )
}

async fn set_status(fx: &Fx, call: &str, status: &str) -> reqwest::Response {
    send(
        fx.authed(fx.http.post(calls_url(fx, &format!("/{call}.json"))))
            .form(&[("Status", status)]),
    )
    .await
}

/// Alice's execution, active: its SID and its call's SID.
async fn call_alice(fx: &Fx, step: AgentStep) -> (String, String) {
    fx.tw.script(ALICE, vec![step]);
    let created = json_of(fx.create(ALICE, Some(r#"{"attempt":1}"#)).await).await;
    let exec = fx.tw.executions().pop().expect("an execution");
    assert_eq!(created["sid"], exec.sid.as_str());
    (exec.sid, exec.call_sid)
}

#[tokio::test]
async fn a_ringing_call_is_listed_and_hanging_it_up_ends_its_execution_with_the_flow_end() {
    let fx = Fx::start(true).await;
    let (exec, call) = call_alice(&fx, AgentStep::NoAnswer { after_ms: 30_000 }).await;

    let list = json_of(
        send(fx.authed(fx.http.get(calls_url(&fx, ".json")).query(&[
            ("To", ALICE),
            ("From", FROM),
            ("Status", "ringing"),
        ])))
        .await,
    )
    .await;
    let calls = list["calls"].as_array().expect("calls");
    assert_eq!(calls.len(), 1, "{list}");
    assert_eq!(calls[0]["sid"], call.as_str());
    assert_eq!(calls[0]["status"], "ringing");
    let none = json_of(
        send(
            fx.authed(fx.http.get(calls_url(&fx, ".json")))
                .query(&[("To", ALICE), ("Status", "in-progress")]),
        )
        .await,
    )
    .await;
    assert_eq!(none["calls"], serde_json::json!([]));

    let resp = set_status(&fx, &call, "completed").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body = json_of(resp).await;
    assert_eq!(body["status"], "canceled", "a ringing call ends canceled");
    let ended = fx.tw.executions().pop().unwrap();
    assert_eq!(
        (ended.status.as_str(), ended.ended_by.as_deref()),
        ("ended", Some("hangup"))
    );
    let events = fx.tw.events();
    let last = events.last().expect("events");
    assert_eq!(last["type"], "com.twilio.studio.flow.execution.ended");
    let data = match &last["data"] {
        Value::String(s) => serde_json::from_str::<Value>(s).unwrap(),
        v => v.clone(),
    };
    assert_eq!(data["execution_sid"], exec.as_str());
    assert_eq!(
        fx.context(&exec).await["widgets"]["call_agent"]["CallStatus"],
        "canceled"
    );
    let hang_ups = fx.tw.hang_ups();
    assert_eq!(hang_ups.len(), 1);
    assert!(hang_ups[0].ended_a_live_call(), "{hang_ups:?}");
    assert_eq!(hang_ups[0].execution_sid.as_deref(), Some(exec.as_str()));
    assert_eq!(
        (hang_ups[0].was.as_str(), hang_ups[0].now.as_str()),
        ("ringing", "canceled")
    );
    assert_eq!(
        fx.control_get("hangups").await[0]["call_sid"],
        call.as_str()
    );

    // Ending the execution through Studio afterwards answers at once: it has ended.
    let t = std::time::Instant::now();
    let end = fx.end(&exec).await;
    assert_eq!(end.status(), StatusCode::OK);
    assert_eq!(json_of(end).await["status"], "ended");
    assert!(
        t.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        t.elapsed()
    );

    // Again: the call has ended; it is answered as it is, and nothing more is emitted.
    let again = set_status(&fx, &call, "completed").await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(json_of(again).await["status"], "canceled");
    assert_eq!(fx.tw.events().len(), events.len());
}

#[tokio::test]
async fn canceled_leaves_an_answered_call_running_and_completed_hangs_it_up() {
    let fx = Fx::start(true).await;
    let (exec, call) = call_alice(
        &fx,
        AgentStep::Press {
            digit: "1".into(),
            after_ms: 30_000,
        },
    )
    .await;
    let fetched =
        json_of(send(fx.authed(fx.http.get(calls_url(&fx, &format!("/{call}.json"))))).await).await;
    assert_eq!(fetched["status"], "in-progress");

    let canceled = json_of(set_status(&fx, &call, "canceled").await).await;
    assert_eq!(
        canceled["status"], "in-progress",
        "an answered call is not canceled"
    );
    assert_eq!(fx.tw.executions()[0].status, "active");

    let completed = json_of(set_status(&fx, &call, "completed").await).await;
    assert_eq!(completed["status"], "completed");
    let e = &fx.tw.executions()[0];
    assert_eq!(
        (e.sid.as_str(), e.status.as_str()),
        (exec.as_str(), "ended")
    );
    let records: Vec<bool> = fx
        .tw
        .hang_ups()
        .iter()
        .map(|h| h.ended_a_live_call())
        .collect();
    assert_eq!(records, vec![false, true]);
}

#[tokio::test]
async fn unknown_calls_other_accounts_and_bad_statuses_get_twilios_errors() {
    let fx = Fx::start(true).await;
    let (_, call) = call_alice(&fx, AgentStep::NoAnswer { after_ms: 30_000 }).await;
    let unknown = set_status(&fx, "CA00000000000000000000000000000000", "completed").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let body = json_of(unknown).await;
    assert_eq!(
        (body["code"].as_i64(), body["status"].as_i64()),
        (Some(20404), Some(404))
    );
    assert!(body["more_info"].as_str().unwrap().ends_with("/20404"));
    let other = send(
        fx.authed(fx.http.post(format!(
            "{}/2010-04-01/Accounts/AC00000000000000000000000000000000/Calls/{call}.json",
            fx.tw.base_url()
        )))
        .form(&[("Status", "completed")]),
    )
    .await;
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    let bad = set_status(&fx, &call, "ringing").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(fx.tw.executions()[0].status, "active", "nothing changed");
    assert!(fx.tw.hang_ups().is_empty());
}
