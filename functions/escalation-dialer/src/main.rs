//! escalation-dialer: SQS consumer of the dial queue; places each requested call once.
use escalation_lambda::boot;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let dialer = boot::dialer().await?;
    lambda_runtime::run(lambda_runtime::service_fn(move |ev| dialer.handle(ev))).await
}
