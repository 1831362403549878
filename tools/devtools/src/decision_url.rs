//! call-decision behind a local HTTP server, as its function URL serves it: Studio's HTTP
//! Request widget (the Twilio fake's walk of the flow) and tests post to it over HTTP and the
//! real handler answers. Bind first, so the URL can go into the functions' `DECISION_URL`
//! before the stack whose parts build the handler exists.

use escalation_lambda::handlers::CallDecision;
use lambda_http::Body;

/// A listener on a free local port and its URL.
pub async fn bind() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a local port");
    let url = format!("http://{}/", listener.local_addr().expect("its address"));
    (listener, url)
}

/// Serve `decision` on `listener` until the runtime stops.
pub fn serve(listener: tokio::net::TcpListener, decision: CallDecision) {
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let decision = decision.clone();
        async move {
            let (parts, body) = req.into_parts();
            let bytes = axum::body::to_bytes(body, 1 << 16)
                .await
                .unwrap_or_default();
            let req = lambda_http::Request::from_parts(parts, Body::Binary(bytes.to_vec()));
            let resp = decision.handle(req).await.expect("never errs");
            let (parts, body) = resp.into_parts();
            axum::response::Response::from_parts(parts, axum::body::Body::from(body.to_vec()))
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
}
