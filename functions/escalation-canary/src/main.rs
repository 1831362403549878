//! escalation-canary: scheduled; one synthetic escalation to the test number must end
//! accepted within its bound, else `CanaryFailed` is 1.
use escalation_lambda::boot;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let canary = boot::canary().await?;
    lambda_runtime::run(lambda_runtime::service_fn(move |ev| canary.handle(ev))).await
}
