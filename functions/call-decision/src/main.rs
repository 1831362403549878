//! call-decision: Lambda function URL the Studio flow calls when the person presses a key.
use escalation_lambda::boot;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let decision = boot::call_decision().await?;
    lambda_http::run(lambda_http::service_fn(move |req| decision.handle(req))).await
}
