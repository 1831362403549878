//! voice-inbound: Lambda function URL for the escalation number's Twilio webhooks
//! (voice calls and text messages). See docs/INBOUND.md.
use escalation_lambda::{boot, handlers::inbound};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let line = boot::voice_inbound().await?;
    lambda_http::run(lambda_http::service_fn(move |req| {
        inbound::handle(line, req)
    }))
    .await
}
