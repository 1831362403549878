//! The installation `escalation-admin doctor` is tested against: the incident-trigger
//! function's configuration and the secret on moto, the Twilio side deployed onto the Twilio
//! fake, the ServiceNow fake, a roster file, and a trigger that checks signatures with the
//! trigger's own code. [`Install`] says what to install; each test changes one thing.

use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, FunctionCode, FunctionUrlAuthType, Runtime};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use escalation_adapters::signing::SigningKey;
use escalation_admin::deploy;
use escalation_fakes::{ServiceNowFake, ServiceNowHandle, TwilioHandle};
use escalation_lambda::handlers::trigger::{is_heartbeat, parse_body};
use serde_json::{Value, json};
use tokio::net::TcpListener;

#[path = "twilio.rs"]
mod twilio;
pub use twilio::{ACCOUNT, KEY_SECRET, KEY_SID};

pub const SN_USER: &str = "svc_escalation";
pub const SN_PASS: &str = "servicenow-password-value";
pub const SN_CLIENT_ID: &str = "3f2e1d0c9b8a47e6a5d4c3b2a1f0e9d8";
pub const SN_CLIENT_SECRET: &str = "servicenow-client-secret-value";

fn moto() -> String {
    std::env::var("MOTO_ENDPOINT").expect(
        "MOTO_ENDPOINT is not set: run the tests with scripts/test.sh, which starts moto server",
    )
}

async fn aws() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_lambda::config::Credentials::new(
            "test", "test", None, None, "static",
        ))
        .endpoint_url(moto())
        .load()
        .await
}

pub fn hmac_key() -> String {
    STANDARD.encode([42u8; 32])
}

pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// What is installed; each test changes one thing.
pub struct Install {
    pub secret: Value,
    pub flow_sid: Option<String>,
    pub sink_status: Option<&'static str>,
    pub roster: String,
    pub trigger_key: String,
    /// An OAuth client registered at the ServiceNow fake (`SN_CLIENT_ID`/`SN_CLIENT_SECRET`).
    pub oauth: bool,
}

impl Default for Install {
    fn default() -> Self {
        Install {
            secret: json!({
                "twilio_account_sid": ACCOUNT,
                "twilio_api_key_sid": KEY_SID,
                "twilio_api_key_secret": KEY_SECRET,
                "servicenow_username": SN_USER,
                "servicenow_password": SN_PASS,
                "trigger_hmac_key": hmac_key(),
                "twilio_auth_token": "twilio-auth-token-value",
            }),
            flow_sid: None,
            sink_status: None,
            roster: r#"{"agent_list": [
                {"name": "Ana Ortiz", "phone_no": "+4930901820", "role": "SRE", "index": 0},
                {"name": "Ben Okafor", "phone_no": "+4930901821", "role": "SRE", "index": 1}],
              "escalation_list": [{"name": "Chloé Martin", "phone_no": "+4930901822", "role": "Manager", "index": 0}]}"#
                .into(),
            trigger_key: hmac_key(),
            oauth: false,
        }
    }
}

pub struct Rig {
    pub function: String,
    roster: std::path::PathBuf,
    trigger_url: String,
    tw: TwilioHandle,
    pub sn: ServiceNowHandle,
}

/// A trigger that answers as incident-trigger does: 401 for a bad signature, 200 for a
/// heartbeat, 400 for a body that is not an incident, 202 otherwise.
async fn trigger(key_b64: String) -> String {
    let key = SigningKey::from_base64(&key_b64).expect("key");
    let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
        let key = key.clone();
        async move {
            let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
            let now = (escalation_adapters::clock::now_ms() / 1000) as i64;
            let answer = match key.verify(h("x-signature-timestamp"), h("x-signature"), &body, now)
            {
                Err(e) => (StatusCode::UNAUTHORIZED, json!({"error": e.to_string()})),
                Ok(_) if is_heartbeat(&body) => (StatusCode::OK, json!({"heartbeat": "ok"})),
                Ok(_) => match parse_body(h("content-type").unwrap_or(""), &body) {
                    Err(m) => (StatusCode::BAD_REQUEST, json!({"error": m})),
                    Ok(_) => (StatusCode::ACCEPTED, json!({"escalation_id": "ESC-1"})),
                },
            };
            (answer.0, axum::Json(answer.1))
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// moto's Lambda wants the role to exist in its IAM (moto does not check signatures).
async fn create_role(name: &str) -> String {
    let resp = reqwest::Client::new()
        .post(moto())
        .header(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
        )
        .form(&[
            ("Action", "CreateRole"),
            ("Version", "2010-05-08"),
            ("RoleName", name),
            ("AssumeRolePolicyDocument", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#),
        ])
        .send()
        .await
        .expect("moto IAM");
    assert!(
        resp.status().is_success(),
        "CreateRole: {}",
        resp.text().await.unwrap_or_default()
    );
    format!("arn:aws:iam::123456789012:role/{name}")
}

impl Rig {
    pub async fn install(i: Install) -> Rig {
        let aws = aws().await;
        let tw = twilio::fake().await;
        let report = deploy(
            &twilio::client(&tw, KEY_SECRET),
            &twilio::spec(twilio::shipped_flow()),
            &mut Vec::new(),
        )
        .await
        .expect("the Twilio side deploys");
        if let Some(status) = i.sink_status {
            assert!(tw.set_sink_status(&report.sink.as_ref().unwrap().sid, status));
        }
        let sn = ServiceNowFake::start(SN_USER, SN_PASS).await;
        if i.oauth {
            sn.enable_oauth(SN_CLIENT_ID, SN_CLIENT_SECRET, 1800);
        }

        let secrets = aws_sdk_secretsmanager::Client::new(&aws);
        let secret = secrets
            .create_secret()
            .name(unique("doctor-secret"))
            .secret_string(i.secret.to_string())
            .send()
            .await
            .expect("moto secret");
        let function = unique("doctor-incident-trigger");
        let role = create_role(&unique("doctor-role")).await;
        let env = Environment::builder()
            .variables(
                "TWILIO_FLOW_SID",
                i.flow_sid.unwrap_or(report.flow.sid.clone()),
            )
            .variables("TWILIO_FROM_NUMBER", "+15017122661")
            .variables("SECRETS_ARN", secret.arn().expect("arn"))
            .variables("SERVICENOW_INSTANCE_URL", sn.base_url())
            .variables("TWILIO_STUDIO_BASE_URL", tw.base_url())
            .variables("ESCALATE_PRIORITIES", "1,2")
            .build();
        let lambda = aws_sdk_lambda::Client::new(&aws);
        // An empty zip: moto stores the code, nothing runs it.
        let zip: Vec<u8> = [b"PK\x05\x06".as_slice(), &[0u8; 18]].concat();
        lambda
            .create_function()
            .function_name(&function)
            .runtime(Runtime::Providedal2023)
            .handler("bootstrap")
            .role(role)
            .code(FunctionCode::builder().zip_file(Blob::new(zip)).build())
            .environment(env)
            .send()
            .await
            .expect("moto function");
        lambda
            .create_function_url_config()
            .function_name(&function)
            .auth_type(FunctionUrlAuthType::None)
            .send()
            .await
            .expect("moto function URL");
        let roster = std::env::temp_dir().join(format!("{}.json", unique("doctor-roster")));
        std::fs::write(&roster, &i.roster).expect("roster file");
        Rig {
            function,
            roster,
            trigger_url: trigger(i.trigger_key).await,
            tw,
            sn,
        }
    }

    /// Runs the doctor binary: (exit code, stdout).
    pub async fn doctor(&self) -> (i32, String) {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_escalation-admin"))
            .args([
                "doctor",
                "--function",
                &self.function,
                "--trigger-url",
                &self.trigger_url,
            ])
            .arg("--roster")
            .arg(&self.roster)
            .env("AWS_ENDPOINT_URL", moto())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("TWILIO_EVENTS_BASE_URL", self.tw.base_url())
            .env_remove("TWILIO_STUDIO_BASE_URL")
            .output()
            .await
            .expect("runs escalation-admin doctor");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        for secret in [
            KEY_SECRET,
            SN_PASS,
            SN_CLIENT_SECRET,
            &hmac_key(),
            "twilio-auth-token-value",
        ] {
            assert!(
                !stdout.contains(secret),
                "a secret value was printed:\n{stdout}"
            );
        }
        (out.status.code().unwrap_or(-1), stdout)
    }
}
