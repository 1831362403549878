//! The ServiceNow fake's OAuth client-credentials flow (`/oauth_token.do`) against a real
//! HTTP client: a token is issued for the registered client only, opens the Table API until
//! it expires, and Basic auth keeps working beside it.

mod support;

use escalation_fakes::{ServiceNowFake, ServiceNowHandle};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use support::{json_of, send, send_json};

const USER: &str = "svc_escalation";
const PASS: &str = "s3cret";
const CLIENT_ID: &str = "0f6e5bc3a1d24e8f9c7b6a5d4e3f2a1b";
const CLIENT_SECRET: &str = "client-s3cret";
const INC: &str = "ef43c6d40a0a0b5700c77f9bf387afe3";

async fn fake() -> ServiceNowHandle {
    let sn = ServiceNowFake::start(USER, PASS).await;
    sn.add_incident(INC, "INC0000050", "Exchange is down", "1");
    sn.enable_oauth(CLIENT_ID, CLIENT_SECRET, 1800);
    sn
}

async fn token(sn: &ServiceNowHandle, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let resp = send(
        Client::new()
            .post(format!("{}/oauth_token.do", sn.base_url()))
            .form(form),
    )
    .await;
    let status = resp.status();
    (status, json_of(resp).await)
}

async fn read_incident(sn: &ServiceNowHandle, bearer: &str) -> StatusCode {
    send_json(
        Client::new()
            .get(format!("{}/api/now/table/incident/{INC}", sn.base_url()))
            .bearer_auth(bearer),
    )
    .await
    .status()
}

const GOOD: [(&str, &str); 3] = [
    ("grant_type", "client_credentials"),
    ("client_id", CLIENT_ID),
    ("client_secret", CLIENT_SECRET),
];

#[tokio::test]
async fn a_token_for_the_registered_client_opens_the_table_api_until_it_expires() {
    let sn = fake().await;
    let (status, body) = token(&sn, &GOOD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 1800);
    let access = body["access_token"].as_str().expect("access_token");
    assert_eq!(read_incident(&sn, access).await, StatusCode::OK);
    assert_eq!(
        read_incident(&sn, "not-a-token").await,
        StatusCode::UNAUTHORIZED
    );

    sn.expire_tokens();
    assert_eq!(read_incident(&sn, access).await, StatusCode::UNAUTHORIZED);
    let (_, fresh) = token(&sn, &GOOD).await;
    let fresh = fresh["access_token"].as_str().expect("a new token");
    assert_ne!(fresh, access);
    assert_eq!(read_incident(&sn, fresh).await, StatusCode::OK);
    assert_eq!(sn.tokens_issued(), 2);

    // Writes made with a token run as the OAuth application user.
    let resp = send_json(
        Client::new()
            .patch(format!("{}/api/now/table/incident/{INC}", sn.base_url()))
            .bearer_auth(fresh)
            .json(&json!({"work_notes": "written with a token"})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(sn.incident(INC).expect("incident")["sys_updated_by"], USER);
    assert_eq!(sn.work_notes(INC), vec!["written with a token".to_string()]);
}

#[tokio::test]
async fn a_wrong_client_or_grant_gets_the_instances_oauth_errors() {
    let sn = fake().await;
    let wrong_secret = [GOOD[0], GOOD[1], ("client_secret", "nope")];
    assert_eq!(
        token(&sn, &wrong_secret).await,
        (
            StatusCode::UNAUTHORIZED,
            json!({"error": "access_denied", "error_description": "access_denied"})
        )
    );
    let password_grant = [("grant_type", "password"), GOOD[1], GOOD[2]];
    let (status, body) = token(&sn, &password_grant).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unsupported_grant_type");
    assert_eq!(sn.tokens_issued(), 0);

    // Basic auth still works beside OAuth.
    let resp = send_json(
        Client::new()
            .get(format!("{}/api/now/table/incident/{INC}", sn.base_url()))
            .basic_auth(USER, Some(PASS)),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
}
