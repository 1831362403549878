//! The admin CLI follows Twilio's `meta.next_page_url` only on the API's own host: a page
//! that points elsewhere is refused, and the account's credentials never leave.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::routing::{any, get, post};
use serde_json::json;
use tokio::net::TcpListener;

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const KEY_SID: &str = "SK0123456789abcdef0123456789abcdef";

async fn serve(router: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

#[tokio::test(flavor = "multi_thread")]
async fn a_next_page_on_another_host_is_not_followed_with_the_accounts_credentials() {
    // The foreign host records what reaches it.
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let foreign = serve(
        Router::new()
            .fallback(any(
                |State(seen): State<Arc<Mutex<Vec<String>>>>, req: Request| async move {
                    let auth = req
                        .headers()
                        .get("authorization")
                        .map(|v| v.to_str().unwrap_or("?").to_owned())
                        .unwrap_or_default();
                    seen.lock().unwrap().push(format!("{} {auth}", req.uri()));
                    axum::Json(json!({"meta": {"next_page_url": null}, "flows": []}))
                },
            ))
            .with_state(seen.clone()),
    )
    .await;
    // Studio answers Validate, then a first page whose next page is on the foreign host.
    let next = format!("{foreign}/v2/Flows?PageSize=50&Page=1");
    let studio = serve(
        Router::new()
            .route("/v2/Flows/Validate", post(|| async { axum::Json(json!({"valid": true})) }))
            .route(
                "/v2/Flows",
                get(move || {
                    let next = next.clone();
                    async move {
                        axum::Json(json!({
                            "meta": {"page": 0, "page_size": 50, "next_page_url": next, "key": "flows"},
                            "flows": [],
                        }))
                    }
                }),
            ),
    )
    .await;

    let flow = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../infra/twilio/escalation-flow.json"
    );
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_escalation-admin"))
        .args(["twilio", "deploy", "--flow-file", flow])
        .env("TWILIO_ACCOUNT_SID", ACCOUNT)
        .env("TWILIO_API_KEY_SID", KEY_SID)
        .env("TWILIO_API_KEY_SECRET", "api-secret")
        .env("TWILIO_STUDIO_BASE_URL", &studio)
        .env("TWILIO_EVENTS_BASE_URL", &studio)
        .output()
        .await
        .expect("runs escalation-admin");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("listing Studio flows"), "{stderr}");
    assert!(stderr.contains("another host"), "{stderr}");
    assert!(stderr.contains(&foreign.replace("http://", "")), "{stderr}");
    assert!(
        seen.lock().unwrap().is_empty(),
        "the foreign host was called: {:?}",
        seen.lock().unwrap()
    );
}
