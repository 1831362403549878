//! Container start-up of each function: its logging (JSON unless Lambda's log format is
//! Text), its configuration from the environment,
//! its clients built once. A configuration error is logged (naming the variable or secret
//! field, never a value) and ends the init, so Lambda reports it.

use crate::config::{self, CanaryConfig, ConfigError, EngineConfig, UpdaterConfig};
use crate::handlers::{
    CallDecision, Canary, EscalationDialer, FlowEvents, Sweeper, Trigger, Updater,
};
use crate::wiring::{self, Aws, EngineParts};
use escalation_adapters::retry::RetryPolicy;
use std::collections::HashMap;
use tracing_subscriber::EnvFilter;

/// How the functions log: which `tracing` filter, in which format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogSetup {
    /// An `EnvFilter` directive string (`info`, `warn,escalation_core=debug`, ...).
    pub filter: String,
    pub format: LogFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object a line (CloudWatch Logs Insights reads the fields).
    Json,
    /// Plain lines, for a function whose Lambda log format is Text.
    Text,
}

/// The log setup an environment asks for. The filter is `RUST_LOG`; when that is unset,
/// Lambda's advanced logging controls decide: `AWS_LAMBDA_LOG_LEVEL` (TRACE, DEBUG, INFO,
/// WARN, ERROR, FATAL; FATAL logs errors); otherwise `info`. The format is JSON unless
/// `AWS_LAMBDA_LOG_FORMAT` is `Text`. A value that is not understood falls back to the
/// default, so logging never stops a function from starting.
pub fn log_setup(env: &HashMap<String, String>) -> LogSetup {
    let get = |k: &str| env.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let lambda_level = get("AWS_LAMBDA_LOG_LEVEL").and_then(|l| {
        Some(match l.to_ascii_uppercase().as_str() {
            "TRACE" => "trace",
            "DEBUG" => "debug",
            "INFO" => "info",
            "WARN" | "WARNING" => "warn",
            "ERROR" | "FATAL" => "error",
            _ => return None,
        })
    });
    let filter = match get("RUST_LOG") {
        Some(f) if EnvFilter::try_new(f).is_ok() => f.to_string(),
        _ => lambda_level.unwrap_or("info").to_string(),
    };
    let format = match get("AWS_LAMBDA_LOG_FORMAT") {
        Some(f) if f.eq_ignore_ascii_case("text") => LogFormat::Text,
        _ => LogFormat::Json,
    };
    LogSetup { filter, format }
}

/// Logging from the process environment (see [`log_setup`]); phone numbers are masked
/// where they are logged, so the format does not change what is revealed.
pub fn init_logging() {
    let setup = log_setup(&config::process_env());
    let filter = EnvFilter::try_new(&setup.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .without_time();
    let _ = match setup.format {
        LogFormat::Json => builder.json().with_current_span(false).try_init(),
        LogFormat::Text => builder.with_ansi(false).try_init(),
    };
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
        parts.trigger(&aws, &config::dial_queue_url(&config::process_env())?)
    };
    built.await.map(leak).map_err(fail)
}

pub async fn call_decision() -> Result<&'static CallDecision, lambda_runtime::Error> {
    init_logging();
    let built = async {
        let (_, aws, parts) = engine_parts().await?;
        parts.call_decision(&aws, &config::dial_queue_url(&config::process_env())?)
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

pub async fn dialer() -> Result<&'static EscalationDialer, lambda_runtime::Error> {
    init_logging();
    let built = async { Ok::<_, ConfigError>(engine_parts().await?.2.dialer()) };
    built.await.map(leak).map_err(fail)
}

pub async fn sweeper() -> Result<&'static Sweeper, lambda_runtime::Error> {
    init_logging();
    let built = async { Ok::<_, ConfigError>(engine_parts().await?.2.sweeper()) };
    built.await.map(leak).map_err(fail)
}

pub async fn canary() -> Result<&'static Canary, lambda_runtime::Error> {
    init_logging();
    let built = async {
        let env = config::process_env();
        let canary = CanaryConfig::from_map(&env)?;
        let (_, aws, parts) = engine_parts().await?;
        Ok::<_, ConfigError>(parts.canary(&aws, &config::dial_queue_url(&env)?, &canary))
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(vars: &[(&str, &str)]) -> LogSetup {
        log_setup(
            &vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn json(filter: &str) -> LogSetup {
        LogSetup {
            filter: filter.into(),
            format: LogFormat::Json,
        }
    }

    #[test]
    fn json_at_info_when_nothing_is_set() {
        assert_eq!(setup(&[]), json("info"));
        assert_eq!(
            setup(&[("RUST_LOG", " "), ("AWS_LAMBDA_LOG_FORMAT", "")]),
            json("info")
        );
    }

    #[test]
    fn rust_log_wins_over_the_lambda_level() {
        let s = setup(&[
            ("RUST_LOG", "warn,escalation_core=debug"),
            ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
        ]);
        assert_eq!(s, json("warn,escalation_core=debug"));
    }

    #[test]
    fn the_lambda_level_applies_when_rust_log_is_unset() {
        for (lambda, ours) in [
            ("TRACE", "trace"),
            ("DEBUG", "debug"),
            ("INFO", "info"),
            ("WARN", "warn"),
            ("ERROR", "error"),
            ("FATAL", "error"),
            ("debug", "debug"),
        ] {
            assert_eq!(
                setup(&[("AWS_LAMBDA_LOG_LEVEL", lambda)]),
                json(ours),
                "{lambda}"
            );
        }
        assert_eq!(setup(&[("AWS_LAMBDA_LOG_LEVEL", "LOUD")]), json("info"));
    }

    #[test]
    fn an_unparsable_rust_log_falls_back_to_the_lambda_level() {
        assert_eq!(
            setup(&[("RUST_LOG", "info,[=bad"), ("AWS_LAMBDA_LOG_LEVEL", "WARN")]),
            json("warn")
        );
    }

    #[test]
    fn text_only_when_lambda_says_text() {
        for text in ["Text", "TEXT", "text"] {
            assert_eq!(
                setup(&[("AWS_LAMBDA_LOG_FORMAT", text)]).format,
                LogFormat::Text
            );
        }
        for other in ["JSON", "json", "xml"] {
            assert_eq!(
                setup(&[("AWS_LAMBDA_LOG_FORMAT", other)]).format,
                LogFormat::Json
            );
        }
    }
}
