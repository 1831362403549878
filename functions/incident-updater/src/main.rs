//! incident-updater: SQS consumer that writes queued updates to the ServiceNow incident.
use escalation_lambda::boot;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let updater = boot::updater().await?;
    lambda_runtime::run(lambda_runtime::service_fn(move |ev| updater.handle(ev))).await
}
