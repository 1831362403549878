//! Container start-up of each function: JSON logs, its configuration from the environment,
//! its clients built once. A configuration error is logged (naming the variable or secret
//! field, never a value) and ends the init, so Lambda reports it.

use crate::config::{self, ConfigError, EngineConfig, UpdaterConfig};
use crate::handlers::{FlowEvents, Sweeper, Trigger, Updater};
use crate::wiring::{self, Aws, EngineParts};
use escalation_adapters::retry::RetryPolicy;

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

/// Log a start-up failure and hand it to the runtime.
fn fail(e: ConfigError) -> lambda_runtime::Error {
    tracing::error!(error = %e, "configuration error");
    e.into()
}

async fn aws(secrets_arn: &str) -> Result<Aws, ConfigError> {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    Aws::load(sdk, secrets_arn, RetryPolicy::default()).await
}

async fn engine_parts() -> Result<(EngineConfig, Aws, EngineParts), ConfigError> {
    let config = EngineConfig::from_map(&config::process_env())?;
    let aws = aws(&config.secrets_arn).await?;
    let parts = EngineParts::build(&config, &aws)?;
    Ok((config, aws, parts))
}

fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

pub async fn trigger() -> Result<&'static Trigger, lambda_runtime::Error> {
    init_logging();
    let built = async {
        let (_, aws, parts) = engine_parts().await?;
        parts.trigger(&aws)
    };
    built.await.map(leak).map_err(fail)
}

pub async fn flow_events() -> Result<&'static FlowEvents, lambda_runtime::Error> {
    init_logging();
    let built = async {
        let (config, _, parts) = engine_parts().await?;
        let concurrency = config::flow_events_concurrency(&config::process_env())?;
        Ok(parts.flow_events(&config.flow_sid, concurrency))
    };
    built.await.map(leak).map_err(fail)
}

pub async fn sweeper() -> Result<&'static Sweeper, lambda_runtime::Error> {
    init_logging();
    let built = async { Ok::<_, ConfigError>(engine_parts().await?.2.sweeper()) };
    built.await.map(leak).map_err(fail)
}

pub async fn updater() -> Result<&'static Updater, lambda_runtime::Error> {
    init_logging();
    let built = async {
        let config = UpdaterConfig::from_map(&config::process_env())?;
        let aws = aws(&config.secrets_arn).await?;
        wiring::updater(&config, &aws)
    };
    built.await.map(leak).map_err(fail)
}

pub async fn voice_inbound() -> Result<&'static escalation_inbound::Inbound, lambda_runtime::Error>
{
    init_logging();
    let built = async {
        let (_, aws, parts) = engine_parts().await?;
        crate::handlers::inbound::build(&config::process_env(), &aws, &parts)
    };
    let inbound = built.await.map_err(fail)?;
    tracing::info!(numbers = inbound.config.numbers.len(), public_base_url = ?inbound.public_base_url, "voice-inbound ready");
    Ok(leak(inbound))
}
