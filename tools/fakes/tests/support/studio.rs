//! The Studio Executions API of the Twilio fake, driven with a real HTTP client: [`Fx`].

use std::time::{Duration, Instant};

use escalation_fakes::{TwilioFake, TwilioFakeConfig, TwilioHandle};
use reqwest::{Client, RequestBuilder, Response, StatusCode};
use serde_json::Value;

use super::{json_of, send};

pub const FROM: &str = "+15017122661";

pub fn config(auto_end: bool) -> TwilioFakeConfig {
    TwilioFakeConfig {
        account_sid: "AC0123456789abcdef0123456789abcdef".into(),
        username: "SK0123456789abcdef0123456789abcdef".into(),
        password: "api-secret".into(),
        flow_sid: "FW0123456789abcdef0123456789abcdef".into(),
        auto_end,
        ..TwilioFakeConfig::default()
    }
}

pub struct Fx {
    pub tw: TwilioHandle,
    pub cfg: TwilioFakeConfig,
    pub http: Client,
}

impl Fx {
    pub async fn start(auto_end: bool) -> Self {
        let cfg = config(auto_end);
        let tw = TwilioFake::start(cfg.clone()).await;
        Fx {
            tw,
            cfg,
            http: Client::new(),
        }
    }

    /// `req` signed in with the account's API key.
    pub fn authed(&self, req: RequestBuilder) -> RequestBuilder {
        req.basic_auth(&self.cfg.username, Some(&self.cfg.password))
    }

    /// A control route of the fake (no auth): `GET /__fake/{path}`'s JSON.
    pub async fn control_get(&self, path: &str) -> Value {
        json_of(
            send(
                self.http
                    .get(format!("{}/__fake/{path}", self.tw.base_url())),
            )
            .await,
        )
        .await
    }

    /// `POST /__fake/{path}` with `body`, or with none.
    pub async fn control_post(&self, path: &str, body: Option<Value>) -> Response {
        let req = self
            .http
            .post(format!("{}/__fake/{path}", self.tw.base_url()));
        send(match body {
            Some(body) => req.json(&body),
            None => req,
        })
        .await
    }

    pub fn executions_url(&self) -> String {
        format!(
            "{}/v2/Flows/{}/Executions",
            self.tw.base_url(),
            self.cfg.flow_sid
        )
    }

    pub async fn create(&self, to: &str, params: Option<&str>) -> reqwest::Response {
        let mut form = vec![("To", to), ("From", FROM)];
        if let Some(p) = params {
            form.push(("Parameters", p));
        }
        send(
            self.authed(self.http.post(self.executions_url()))
                .form(&form),
        )
        .await
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        send(self.authed(self.http.get(format!("{}{path}", self.executions_url())))).await
    }

    pub async fn end(&self, sid: &str) -> reqwest::Response {
        let url = format!("{}/{sid}", self.executions_url());
        send(
            self.authed(self.http.post(url))
                .form(&[("Status", "ended")]),
        )
        .await
    }

    pub async fn context(&self, sid: &str) -> Value {
        let resp = self.get(&format!("/{sid}/Context")).await;
        assert_eq!(resp.status(), StatusCode::OK);
        resp.json::<Value>().await.expect("json")["context"].clone()
    }

    pub async fn wait_all_ended(&self) {
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.tw.executions().iter().any(|e| e.status != "ended") {
            assert!(Instant::now() < deadline, "executions did not end");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

pub fn is_sid(s: &Value, prefix: &str) -> bool {
    s.as_str().is_some_and(|s| {
        s.len() == 34
            && s.starts_with(prefix)
            && s[2..]
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}
