//! incident-updater: SQS consumer that writes queued updates to the ServiceNow incident.
use escalation::handlers::{boot, updater};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let app = boot().await?;
    lambda_runtime::run(lambda_runtime::service_fn(move |ev| {
        updater::handle(app, ev)
    }))
    .await
}
