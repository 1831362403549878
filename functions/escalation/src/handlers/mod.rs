//! Lambda entry points. Each binary's `main` builds the [`crate::app::AwsApp`] once and
//! hands every invocation to one of these.

pub mod flow_events;
pub mod inbound;
pub mod sweeper;
pub mod trigger;
pub mod updater;

/// JSON logs (CloudWatch-friendly), level from `RUST_LOG` (default info).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .try_init();
}

/// Container start-up shared by every binary: logging, then the app built once from the
/// environment and Secrets Manager. A configuration error is logged (naming the variable
/// or secret field, never a value) and ends the init, so Lambda reports it.
pub async fn boot() -> Result<&'static crate::app::AwsApp, lambda_runtime::Error> {
    init_logging();
    match crate::app::AwsApp::from_env().await {
        Ok(app) => Ok(Box::leak(Box::new(app))),
        Err(e) => {
            tracing::error!(error = %e, "configuration error");
            Err(e.into())
        }
    }
}
