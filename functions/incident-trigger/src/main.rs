//! incident-trigger: Lambda function URL called by the ServiceNow business rule.
use escalation::handlers::{boot, trigger};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let app = boot().await?;
    lambda_http::run(lambda_http::service_fn(move |req| {
        trigger::handle(app, req)
    }))
    .await
}
