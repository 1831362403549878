//! flow-events: Kinesis consumer of Twilio Event Streams (Studio execution ended).
use escalation_lambda::boot;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let flow_events = boot::flow_events().await?;
    lambda_runtime::run(lambda_runtime::service_fn(move |ev| flow_events.handle(ev))).await
}
