//! The Twilio fake's Studio Executions API against a real HTTP client: authentication,
//! creating, listing and ending executions, Twilio's errors and its rate limit. The
//! simulated people and the fake's control routes are in twilio_agents.rs.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::studio::{FROM, Fx, is_sid};
use support::{header, json_of, send};

#[tokio::test]
async fn auth_is_required() {
    let fx = Fx::start(true).await;
    let resp = send(
        fx.http
            .post(fx.executions_url())
            .basic_auth(&fx.cfg.username, Some("nope"))
            .form(&[("To", "+15558675310"), ("From", FROM)]),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        json_of(resp).await,
        json!({"code": 20003, "message": "Authenticate",
               "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401})
    );
    let resp = send(fx.http.get(fx.executions_url())).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(fx.tw.executions().is_empty());
    assert_eq!(fx.tw.requests().len(), 2);
}

#[tokio::test]
async fn create_returns_execution_and_conflicts_while_active() {
    let fx = Fx::start(false).await;
    let to = "+15558675310";
    let resp = fx
        .create(
            to,
            Some(r#"{"incident_number":"INC0012345","priority":"1"}"#),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let ex = json_of(resp).await;
    assert!(is_sid(&ex["sid"], "FN"), "sid {}", ex["sid"]);
    assert!(is_sid(&ex["contact_sid"], "FC"));
    assert_eq!(ex["account_sid"], fx.cfg.account_sid);
    assert_eq!(ex["flow_sid"], fx.cfg.flow_sid);
    assert_eq!(ex["contact_channel_address"], to);
    assert_eq!(ex["status"], "active");
    assert_eq!(ex["context"], json!({}));
    let created = ex["date_created"].as_str().expect("date");
    assert_eq!(created.len(), "2026-11-21T10:00:00Z".len());
    assert!(created.ends_with('Z') && created.as_bytes()[10] == b'T');
    let sid = ex["sid"].as_str().expect("sid").to_owned();
    assert_eq!(ex["url"], format!("{}/{sid}", fx.executions_url()));
    assert_eq!(
        ex["links"]["execution_context"],
        format!("{}/{sid}/Context", fx.executions_url())
    );

    // While active the context has flow / trigger / contact only.
    let ctx = fx.context(&sid).await;
    assert_eq!(ctx["flow"]["data"]["incident_number"], "INC0012345");
    assert_eq!(ctx["flow"]["channel"]["address"], FROM);
    assert_eq!(ctx["trigger"]["request"]["to"], to);
    assert_eq!(ctx["contact"]["channel"]["address"], to);
    assert!(ctx.get("widgets").is_none());

    // Same To/From while active: 409 exactly as documented.
    let resp = fx.create(to, None).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert_eq!(
        json_of(resp).await,
        json!({
            "code": 20409,
            "details": {"conflicting_execution_sid": sid},
            "message": format!("Execution {sid} is already active for this contact. End the active Execution before creating a new one"),
            "more_info": "https://www.twilio.com/docs/errors/20409",
            "status": 409,
        })
    );

    // Listing with a status filter.
    let list = json_of(fx.get("?Status=active").await).await;
    assert_eq!(list["meta"]["key"], "executions");
    assert_eq!(list["executions"].as_array().map(Vec::len), Some(1));

    // End it through the API, then a new execution is accepted.
    let resp = fx.end(&sid).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(json_of(resp).await["status"], "ended");
    assert_eq!(fx.create(to, None).await.status(), StatusCode::CREATED);
    let list = json_of(fx.get("?Status=ended").await).await;
    assert_eq!(list["executions"][0]["sid"], sid);

    let types: Vec<String> = fx
        .tw
        .events()
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        types,
        [
            "com.twilio.studio.flow.execution.started",
            "com.twilio.studio.flow.execution.ended",
            "com.twilio.studio.flow.execution.started",
        ]
    );
    let records = fx.tw.executions();
    assert_eq!(records[0].ended_by.as_deref(), Some("api"));
    assert_eq!(records[0].parameters["priority"], "1");
}

#[tokio::test]
async fn bad_requests() {
    let fx = Fx::start(false).await;
    let resp = send(
        fx.authed(fx.http.post(fx.executions_url()))
            .form(&[("From", FROM)]),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let b = json_of(resp).await;
    assert_eq!(b["code"], 20001);
    assert_eq!(b["status"], 400);
    assert!(b["message"].as_str().is_some_and(|m| m.contains("To")));
    assert_eq!(
        fx.create("+15558675310", Some("[1,2]")).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        fx.create("+15558675310", Some("{oops")).await.status(),
        StatusCode::BAD_REQUEST
    );

    let resp = fx.get("/FN00000000000000000000000000000000").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(json_of(resp).await["code"], 20404);
    let other_flow = format!(
        "{}/v2/Flows/FWffffffffffffffffffffffffffffffff/Executions",
        fx.tw.base_url()
    );
    let resp = send(fx.authed(fx.http.get(other_flow))).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        json_of(resp).await["more_info"],
        "https://www.twilio.com/docs/errors/20404"
    );
    assert!(fx.tw.executions().is_empty());
}

#[tokio::test]
async fn rate_limit_after_twenty_per_second() {
    let fx = Fx::start(false).await;
    for i in 0..20 {
        let resp = fx.create(&format!("+1555000{i:04}"), None).await;
        assert_eq!(resp.status(), StatusCode::CREATED, "creation {i}");
    }
    let resp = fx.create("+15559999999", None).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&resp, "retry-after"), Some("1"));
    assert_eq!(
        json_of(resp).await,
        json!({"code": 20429, "message": "Too Many Requests",
               "more_info": "https://www.twilio.com/docs/errors/20429", "status": 429})
    );
    assert_eq!(fx.tw.executions().len(), 20);
}

#[tokio::test]
async fn list_filters_by_creation_time() {
    let fx = Fx::start(false).await;
    assert_eq!(
        fx.create("+15550100001", None).await.status(),
        StatusCode::CREATED
    );
    let created = json_of(fx.get("").await).await["executions"][0]["date_created"]
        .as_str()
        .expect("date_created")
        .to_string();
    // From its own creation second (inclusive): listed; with an offset meaning the same
    // instant: listed; from the next second: not; before its second (exclusive): not.
    let count = |v: &Value| v["executions"].as_array().map_or(0, Vec::len);
    let from = json_of(fx.get(&format!("?DateCreatedFrom={created}")).await).await;
    assert_eq!(count(&from), 1, "{from}");
    assert!(
        from["meta"]["url"]
            .as_str()
            .unwrap()
            .contains(&format!("DateCreatedFrom={created}"))
    );
    let (date, time) = created.trim_end_matches('Z').split_once('T').unwrap();
    let hour: u32 = time[..2].parse().unwrap();
    let with_offset = format!("{date}T{:02}{}+00:00", hour, &time[2..]);
    assert_eq!(
        count(
            &json_of(
                fx.get(&format!(
                    "?DateCreatedFrom={}",
                    with_offset.replace('+', "%2B")
                ))
                .await
            )
            .await
        ),
        1
    );
    let secs: u32 = time[6..8].parse().unwrap();
    if secs < 59 {
        let later = format!("{date}T{}{:02}Z", &time[..6], secs + 1);
        assert_eq!(
            count(&json_of(fx.get(&format!("?DateCreatedFrom={later}")).await).await),
            0
        );
    }
    assert_eq!(
        count(&json_of(fx.get(&format!("?DateCreatedTo={created}")).await).await),
        0
    );
    // A malformed date is a 400 in Twilio's envelope.
    let resp = fx.get("?DateCreatedFrom=yesterday").await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body = json_of(resp).await;
    assert_eq!(body["code"], 20001);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("DateCreatedFrom")
    );
}

#[tokio::test]
async fn ending_an_execution_that_already_ended_answers_at_once_with_the_resource() {
    let fx = Fx::start(false).await;
    let resp = fx.create("+15550100001", None).await;
    let sid = json_of(resp).await["sid"].as_str().unwrap().to_string();
    assert_eq!(fx.end(&sid).await.status(), StatusCode::OK);
    let again = tokio::time::timeout(std::time::Duration::from_secs(2), fx.end(&sid))
        .await
        .expect("the second end answers at once");
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(json_of(again).await["status"], "ended");
}
