//! voice-inbound: Lambda function URL for the escalation number's Twilio webhooks
//! (voice calls and text messages). See docs/INBOUND.md.
use escalation::handlers::inbound::{boot_inbound, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let inbound = boot_inbound().await?;
    lambda_http::run(lambda_http::service_fn(move |req| handle(inbound, req))).await
}
