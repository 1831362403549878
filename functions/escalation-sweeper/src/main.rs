//! escalation-sweeper: scheduled; finishes attempts whose flow-end event never came.
use escalation_lambda::boot;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let sweeper = boot::sweeper().await?;
    lambda_runtime::run(lambda_runtime::service_fn(move |ev| sweeper.handle(ev))).await
}
