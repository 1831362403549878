//! ServiceNow fake against a real HTTP client.

mod support;

use escalation_fakes::{FaultRule, ServiceNowFake, ServiceNowHandle};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use support::{header, json_of, send, send_json};

const USER: &str = "escalation.bot";
const PASS: &str = "s3cret";
const INC: &str = "ef43c6d40a0a0b5700c77f9bf387afe3";
const BETH: &str = "681b365ec0a80164000fb0b05854a0cd";

async fn fake() -> (ServiceNowHandle, Client) {
    let sn = ServiceNowFake::start(USER, PASS).await;
    sn.add_incident(INC, "INC0000050", "Exchange is down", "1");
    sn.add_user(BETH, "beth.anglin", "Beth Anglin", "+1 555 010 0001");
    (sn, Client::new())
}

fn url(sn: &ServiceNowHandle, path: &str) -> String {
    format!("{}{path}", sn.base_url())
}

async fn get(sn: &ServiceNowHandle, http: &Client, path: &str) -> reqwest::Response {
    send_json(http.get(url(sn, path)).basic_auth(USER, Some(PASS))).await
}

async fn post(
    sn: &ServiceNowHandle,
    http: &Client,
    path: &str,
    payload: Value,
) -> reqwest::Response {
    send_json(
        http.post(url(sn, path))
            .basic_auth(USER, Some(PASS))
            .json(&payload),
    )
    .await
}

async fn patch(
    sn: &ServiceNowHandle,
    http: &Client,
    id: &str,
    payload: Value,
) -> reqwest::Response {
    send_json(
        http.patch(url(sn, &format!("/api/now/table/incident/{id}")))
            .basic_auth(USER, Some(PASS))
            .json(&payload),
    )
    .await
}

#[tokio::test]
async fn auth_is_required() {
    let (sn, http) = fake().await;
    let expected = json!({"error": {"message": "User Not Authenticated",
        "detail": "Required to provide Auth information"}, "status": "failure"});
    let resp = send_json(http.get(url(&sn, &format!("/api/now/table/incident/{INC}")))).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_of(resp).await, expected);
    let resp = send_json(
        http.get(url(&sn, &format!("/api/now/table/incident/{INC}")))
            .basic_auth(USER, Some("wrong")),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_of(resp).await, expected);
    let recorded = sn.requests();
    assert_eq!(recorded.len(), 2);
    assert!(recorded.iter().all(|r| r.status == 401));
}

#[tokio::test]
async fn patch_appends_work_notes_and_stores_strings() {
    let (sn, http) = fake().await;
    let resp = patch(
        &sn,
        &http,
        INC,
        json!({"work_notes": "Escalation: calling +1******0001", "urgency": 1, "state": 2,
               "assigned_to": BETH, "active": true}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let result = json_of(resp).await["result"].clone();
    assert_eq!(result["work_notes"], "");
    assert_eq!(result["urgency"], "1");
    assert_eq!(result["state"], "2");
    assert_eq!(result["active"], "true");
    assert_eq!(result["sys_mod_count"], "1");
    // Reference fields come as {link, value} by default.
    assert_eq!(result["assigned_to"]["value"], BETH);
    assert!(
        result["assigned_to"]["link"]
            .as_str()
            .is_some_and(|l| l.ends_with(&format!("/api/now/table/sys_user/{BETH}")))
    );

    let put = url(
        &sn,
        &format!(
            "/api/now/v2/table/incident/{INC}?sysparm_fields=sys_id,assigned_to,assigned_to.name,work_notes&sysparm_exclude_reference_link=true"
        ),
    );
    let resp = send_json(
        http.put(put)
            .basic_auth(USER, Some(PASS))
            .json(&json!({"work_notes": "Accepted by Beth Anglin"})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        json_of(resp).await,
        json!({"result": {"sys_id": INC, "assigned_to": BETH, "assigned_to.name": "Beth Anglin",
                          "work_notes": ""}})
    );

    assert_eq!(
        sn.work_notes(INC),
        vec![
            "Escalation: calling +1******0001",
            "Accepted by Beth Anglin"
        ]
    );
    let row = sn.incident(INC).expect("incident exists");
    assert!(
        row.values().all(Value::is_string),
        "all stored values are strings: {row:?}"
    );
    assert_eq!(row["work_notes"], "");
    assert_eq!(row["sys_mod_count"], "2");

    // The journal is readable through sys_journal_field, newest first.
    let resp = send_json(
        http.get(url(&sn, "/api/now/table/sys_journal_field"))
            .query(&[
                (
                    "sysparm_query",
                    format!("element_id={INC}^element=work_notes^ORDERBYDESCsys_created_on"),
                ),
                ("sysparm_fields", "value,element,name".to_owned()),
            ])
            .basic_auth(USER, Some(PASS)),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        json_of(resp).await,
        json!({"result": [
            {"value": "Accepted by Beth Anglin", "element": "work_notes", "name": "incident"},
            {"value": "Escalation: calling +1******0001", "element": "work_notes", "name": "incident"},
        ]})
    );
}

#[tokio::test]
async fn bad_requests_get_400_envelopes() {
    let (sn, http) = fake().await;
    let path = url(&sn, &format!("/api/now/table/incident/{INC}"));
    // No Content-Type.
    let resp = send_json(
        http.patch(&path)
            .basic_auth(USER, Some(PASS))
            .body(r#"{"state":"2"}"#),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let b = json_of(resp).await;
    assert_eq!(b["status"], "failure");
    assert!(b["error"]["message"].is_string());
    // Accept without JSON.
    let resp = send(
        http.patch(&path)
            .basic_auth(USER, Some(PASS))
            .header("Accept", "application/xml")
            .json(&json!({"state": "2"})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    // Not JSON.
    let resp = send_json(
        http.patch(&path)
            .basic_auth(USER, Some(PASS))
            .header("Content-Type", "application/json")
            .body("state=2"),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        json_of(resp).await["error"]["message"],
        "Exception while reading request"
    );
    // Unknown table.
    let resp = get(&sn, &http, "/api/now/table/u_nope").await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        json_of(resp).await,
        json!({"error": {"message": "Invalid table u_nope", "detail": null}, "status": "failure"})
    );
    // Nothing was written.
    assert_eq!(sn.incident(INC).expect("incident")["state"], "1");
    assert!(sn.requests().iter().all(|r| r.status == 400));
}

#[tokio::test]
async fn unknown_records_get_404_envelopes() {
    let (sn, http) = fake().await;
    let expected = json!({"error": {"message": "No Record found",
        "detail": "Record doesn't exist or ACL restricts the record retrieval"}, "status": "failure"});
    let missing = "00000000000000000000000000000000";
    let resp = patch(&sn, &http, missing, json!({"state": "2"})).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(json_of(resp).await, expected);
    let resp = get(&sn, &http, &format!("/api/now/table/incident/{missing}")).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(json_of(resp).await, expected);
}

#[tokio::test]
async fn post_list_and_delete() {
    let (sn, http) = fake().await;
    let resp = post(
        &sn,
        &http,
        "/api/now/table/incident",
        json!({"short_description": "Disk full", "impact": 1, "urgency": 2}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("Location header")
        .to_owned();
    let result = json_of(resp).await["result"].clone();
    let sys_id = result["sys_id"].as_str().expect("sys_id").to_owned();
    assert_eq!(sys_id.len(), 32);
    assert!(sys_id.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(
        location,
        url(&sn, &format!("/api/now/table/incident/{sys_id}"))
    );
    assert_eq!(result["number"], "INC0010001");
    assert_eq!(result["priority"], "2", "priority follows impact x urgency");
    assert_eq!(
        result["assigned_to"], "",
        "empty reference is an empty string"
    );

    // Phone lookup: formatted numbers only match what is stored.
    let list = |query: &'static str| {
        let req = http
            .get(url(&sn, "/api/now/v2/table/sys_user"))
            .query(&[
                ("sysparm_query", query),
                ("sysparm_fields", "sys_id,name"),
                ("sysparm_limit", "1"),
            ])
            .basic_auth(USER, Some(PASS));
        send_json(req)
    };
    let resp = list("phoneLIKE010 0001^active=true").await;
    assert_eq!(header(&resp, "x-total-count"), Some("1"));
    assert_eq!(
        json_of(resp).await,
        json!({"result": [{"sys_id": BETH, "name": "Beth Anglin"}]})
    );
    let resp = list("mobile_phone=+15550100001^ORphone=+15550100001").await;
    assert_eq!(json_of(resp).await, json!({"result": []}));

    let resp = send_json(http.delete(&location).basic_auth(USER, Some(PASS))).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(sn.incident(&sys_id).is_none());
    // v1 answers 404 for an empty list.
    let resp = get(
        &sn,
        &http,
        "/api/now/v1/table/incident?sysparm_query=number=INC0010001",
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn faults_rate_limit_html_and_latency() {
    let (sn, http) = fake().await;
    sn.inject(FaultRule {
        method: Some("PATCH".into()),
        path_contains: Some("/incident/".into()),
        status: 429,
        retry_after_secs: Some(7),
        times: 1,
        ..FaultRule::default()
    });
    let resp = patch(&sn, &http, INC, json!({"work_notes": "x"})).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&resp, "retry-after"), Some("7"));
    assert_eq!(
        json_of(resp).await,
        json!({"error": {"message": "Rate limit exceeded",
            "detail": "Rate limit of 100 requests per hour for Table API exceeded"}, "status": "failure"})
    );
    assert!(sn.work_notes(INC).is_empty());
    let resp = patch(&sn, &http, INC, json!({"work_notes": "x"})).await;
    assert_eq!(resp.status(), StatusCode::OK);

    sn.inject(FaultRule {
        status: 200,
        html_body: true,
        ..FaultRule::default()
    });
    let resp = patch(&sn, &http, INC, json!({"work_notes": "y"})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(header(&resp, "content-type").is_some_and(|c| c.starts_with("text/html")));

    sn.inject(FaultRule {
        status: 0,
        delay_ms: 50,
        ..FaultRule::default()
    });
    let started = std::time::Instant::now();
    let resp = patch(&sn, &http, INC, json!({"work_notes": "z"})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(started.elapsed() >= std::time::Duration::from_millis(50));
    assert_eq!(sn.work_notes(INC), vec!["x", "z"]);

    sn.inject(FaultRule::status(503, 5));
    sn.clear_faults();
    let resp = patch(&sn, &http, INC, json!({"state": "2"})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let statuses: Vec<u16> = sn.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![429, 200, 200, 200, 200]);
}

#[tokio::test]
async fn control_routes() {
    let sn = ServiceNowFake::start(USER, PASS).await;
    let http = Client::new();
    let incident = json!({"sys_id": INC, "number": "INC0000077", "short_description": "DB down",
                          "priority": 2});
    let resp = send(http.post(url(&sn, "/__fake/incidents")).json(&incident)).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let user = json!({"sys_id": BETH, "user_name": "beth.anglin", "name": "Beth Anglin",
                      "phone": "+1 555 010 0001"});
    let resp = send(http.post(url(&sn, "/__fake/users")).json(&user)).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(sn.user(BETH).expect("user")["name"], "Beth Anglin");
    let resp = send(
        http.post(url(&sn, "/__fake/faults"))
            .json(&json!({"method": "PATCH", "status": 500})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let resp = patch(&sn, &http, INC, json!({"work_notes": "first"})).await;
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(json_of(resp).await["status"], "failure");
    let resp = patch(&sn, &http, INC, json!({"work_notes": "second"})).await;
    assert_eq!(resp.status(), StatusCode::OK);

    let state = json_of(send(http.get(url(&sn, &format!("/__fake/incidents/{INC}")))).await).await;
    assert_eq!(state["incident"]["number"], "INC0000077");
    assert_eq!(state["incident"]["priority"], "2");
    assert_eq!(state["work_notes"], json!(["second"]));

    let requests = json_of(send(http.get(url(&sn, "/__fake/requests"))).await).await;
    let requests = requests.as_array().expect("array");
    assert_eq!(requests.len(), 2, "control routes are not recorded");
    assert_eq!(requests[0]["status"], 500);
    assert_eq!(requests[1]["method"], "PATCH");
    let resp = send(http.delete(url(&sn, "/__fake/faults"))).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn created_incidents_never_reuse_a_seeded_number() {
    let (sn, http) = fake().await;
    sn.add_incident(
        "0123456789abcdef0123456789abcdef",
        "INC0010001",
        "Seeded",
        "1",
    );
    let resp = post(
        &sn,
        &http,
        "/api/now/table/incident",
        json!({"short_description": "Reported by phone"}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let created = json_of(resp).await["result"].clone();
    assert_eq!(created["number"], "INC0010002");
    let found = sn.incidents_where("short_description", "Reported by phone");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["sys_id"], created["sys_id"]);
}
