//! call-decision behind a local HTTP server, as its function URL would serve it: the flow's
//! HTTP Request widget (walked by the Twilio fake) reports a key to it during the call.

use super::{Stack, StackOptions};
use escalation_lambda::handlers::CallDecision;

/// Serve `decision` on `listener` as its function URL would.
pub fn serve(listener: tokio::net::TcpListener, decision: CallDecision) {
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let decision = decision.clone();
        async move {
            let (parts, body) = req.into_parts();
            let bytes = axum::body::to_bytes(body, 1 << 16)
                .await
                .unwrap_or_default();
            let body = lambda_http::Body::Binary(bytes.to_vec());
            let req = lambda_http::Request::from_parts(parts, body);
            let resp = decision.handle(req).await.expect("never errs");
            let (parts, body) = resp.into_parts();
            axum::response::Response::from_parts(parts, axum::body::Body::from(body.to_vec()))
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
}

/// A port for call-decision, bound before the stack starts: `options` get its URL as
/// `DECISION_URL`; [`LiveDecisions::serve_for`] starts serving once the stack is up.
pub struct LiveDecisions(tokio::net::TcpListener);

impl LiveDecisions {
    pub async fn bind(options: &mut StackOptions) -> LiveDecisions {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a local port for call-decision");
        let url = format!("http://{}/", listener.local_addr().expect("bound"));
        options.env.push(("DECISION_URL", url));
        LiveDecisions(listener)
    }

    /// Serve call-decision with `stack`'s adapters.
    pub fn serve_for(self, stack: &Stack) {
        let decision = stack
            .parts
            .call_decision(&stack.aws, &stack.resources.dial_queue_url)
            .expect("call-decision");
        serve(self.0, decision);
    }

    /// Nothing answers at the URL (call-decision down).
    pub fn down(self) {
        drop(self.0);
    }
}
