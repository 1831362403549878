//! The Twilio fake's Messages API against a real HTTP client: the 201 message resource,
//! Twilio's 400 codes for missing or invalid fields, another account's path, faults.

mod support;

use escalation_fakes::FaultRule;
use reqwest::StatusCode;
use support::studio::{FROM, Fx};
use support::{json_of, send};

fn url(fx: &Fx, account: &str) -> String {
    format!(
        "{}/2010-04-01/Accounts/{account}/Messages.json",
        fx.tw.base_url()
    )
}

async fn post(fx: &Fx, account: &str, form: &[(&str, &str)]) -> reqwest::Response {
    send(
        fx.http
            .post(url(fx, account))
            .basic_auth(&fx.cfg.username, Some(&fx.cfg.password))
            .form(form),
    )
    .await
}

#[tokio::test]
async fn a_text_is_created_recorded_and_answered_like_twilio() {
    let fx = Fx::start(true).await;
    let account = fx.cfg.account_sid.clone();
    let resp = post(
        &fx,
        &account,
        &[
            ("To", "+15558675310"),
            ("From", FROM),
            ("Body", "INC1 P1: down. Reply 1 to accept, 2 to pass."),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let m = json_of(resp).await;
    assert!(m["sid"].as_str().unwrap().starts_with("SM") && m["sid"].as_str().unwrap().len() == 34);
    assert_eq!(m["status"], "queued");
    assert_eq!(m["direction"], "outbound-api");
    assert_eq!(m["to"], "+15558675310");
    assert_eq!(m["account_sid"], account.as_str());
    let sent = fx.tw.messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].from, FROM);
}

#[tokio::test]
async fn missing_or_invalid_fields_get_twilios_codes_and_nothing_is_sent() {
    let fx = Fx::start(true).await;
    let account = fx.cfg.account_sid.clone();
    for (form, code) in [
        (vec![("From", FROM), ("Body", "x")], 21604),
        (vec![("To", "0155"), ("From", FROM), ("Body", "x")], 21211),
        (vec![("To", "+15558675310"), ("Body", "x")], 21603),
        (vec![("To", "+15558675310"), ("From", FROM)], 21602),
    ] {
        let resp = post(&fx, &account, &form).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert_eq!(json_of(resp).await["code"], code);
    }
    let other = post(
        &fx,
        "AC00000000000000000000000000000000",
        &[("To", "+15558675310"), ("From", FROM), ("Body", "x")],
    )
    .await;
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    fx.tw.inject(FaultRule {
        path_contains: Some("/Messages.json".into()),
        ..FaultRule::status(429, 1)
    });
    let limited = post(
        &fx,
        &account,
        &[("To", "+15558675310"), ("From", FROM), ("Body", "x")],
    )
    .await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(fx.tw.messages().is_empty());
}
