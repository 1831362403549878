//! incident-trigger: Lambda function URL called by the ServiceNow business rule.
use escalation_lambda::boot;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let trigger = boot::trigger().await?;
    lambda_http::run(lambda_http::service_fn(move |req| trigger.handle(req))).await
}
