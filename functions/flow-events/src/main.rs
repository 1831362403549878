//! flow-events: Kinesis consumer of Twilio Event Streams (Studio execution ended).
use escalation::handlers::{boot, flow_events};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let app = boot().await?;
    lambda_runtime::run(lambda_runtime::service_fn(move |ev| {
        flow_events::handle(app, ev)
    }))
    .await
}
