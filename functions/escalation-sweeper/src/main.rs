//! escalation-sweeper: scheduled; finishes attempts whose flow-end event never came.
use escalation::handlers::{boot, sweeper};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let app = boot().await?;
    lambda_runtime::run(lambda_runtime::service_fn(move |ev| {
        sweeper::handle(app, ev)
    }))
    .await
}
