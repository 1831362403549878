//! Each function's settings from its environment. A function reads only its own
//! variables; an error names the variable, never its value.

use escalation_core::escalation::Policy;
use escalation_core::model::E164;
use escalation_core::usecase::Settings;
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name}: {problem}")]
    Invalid { name: &'static str, problem: String },
    #[error(transparent)]
    Secret(#[from] escalation_adapters::secrets::SecretError),
    #[error("{0}")]
    Other(String),
}

/// The environment (the process's in production, a literal map in tests).
pub struct Env<'a>(pub &'a HashMap<String, String>);

impl Env<'_> {
    pub fn get(&self, name: &'static str) -> Option<String> {
        self.0
            .get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    pub fn need(&self, name: &'static str) -> Result<String, ConfigError> {
        self.get(name).ok_or(ConfigError::Missing(name))
    }

    pub fn invalid(name: &'static str, problem: String) -> ConfigError {
        ConfigError::Invalid { name, problem }
    }

    /// A whole number between 0 and `max`, or `default` when unset.
    pub fn number(&self, name: &'static str, default: u32, max: u32) -> Result<u32, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => match v.parse::<u32>() {
                Ok(n) if n <= max => Ok(n),
                _ => Err(Self::invalid(
                    name,
                    format!("{v:?} is not a whole number between 0 and {max}"),
                )),
            },
        }
    }

    /// An http(s) URL without a trailing slash.
    pub fn url(&self, name: &'static str, value: String) -> Result<String, ConfigError> {
        if value.starts_with("https://") || value.starts_with("http://") {
            Ok(value.trim_end_matches('/').to_string())
        } else {
            Err(Self::invalid(
                name,
                format!("{value:?} is not an http(s) URL"),
            ))
        }
    }

    pub fn required_url(&self, name: &'static str) -> Result<String, ConfigError> {
        self.url(name, self.need(name)?)
    }

    pub fn optional_url(&self, name: &'static str) -> Result<Option<String>, ConfigError> {
        self.get(name).map(|v| self.url(name, v)).transpose()
    }
}

/// What every function that moves escalations needs: the table, the update queue, the
/// Studio flow and the walk's tunables (incident-trigger, flow-events, escalation-sweeper,
/// voice-inbound).
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub flow_sid: String,
    pub from_number: E164,
    pub table: String,
    pub queue_url: String,
    pub secrets_arn: String,
    pub studio_base_url: String,
    /// Twilio's REST API host for text messages (`TWILIO_API_BASE_URL`).
    pub api_base_url: String,
    /// A policy file (or the original roster format), the last source asked.
    pub roster_path: Option<String>,
    /// `LOCAL_STACK=true`: the bundled sample people may be called (the local stack only).
    pub local_stack: bool,
    /// How long the stored policies are kept before they are read again (seconds).
    pub policy_cache_secs: u32,
    /// ServiceNow On-Call, asked first when configured (`SERVICENOW_ONCALL_PATH`).
    pub oncall: Option<OnCallConfig>,
    pub settings: Settings,
    /// Studio execution creates per second, across every container of every function
    /// (Twilio's account limit: 20/s).
    pub twilio_creates_per_sec: u32,
    /// `DECISION_URL`: the call-decision function's URL. Set, each call carries it and its
    /// attempt's token, and the flow reports a key at once; unset, keys are read when the
    /// call has ended only.
    pub decision_url: Option<String>,
    /// `BRIDGE_URL`: voice-inbound's public URL. Set: an accepted call offers key 4 (a
    /// conference bridge that calls the next person in). Unset: no bridge (the default).
    pub bridge_url: Option<String>,
    /// `BUNDLE_WINDOW_SECS` (0 to 300; 0, the default: off): a first call waits this long
    /// for other incidents that would call the same person, and one call carries them all.
    /// Needs `DIAL_QUEUE_URL` (the opener's request comes back through it).
    pub bundle_window_secs: u32,
    /// `DIAL_QUEUE_URL`, where the functions that have it send dial requests.
    pub dial_queue_url: Option<String>,
}

/// Where the On-Call API is and how long the trigger waits for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnCallConfig {
    pub instance_url: String,
    /// `/api/x_escalation/phone_escalation/oncall` as the update set installs it.
    pub path: String,
    pub budget_ms: u32,
}

impl OnCallConfig {
    /// Off unless `SERVICENOW_ONCALL_PATH` is set; then `SERVICENOW_INSTANCE_URL` is needed
    /// and `SERVICENOW_ONCALL_BUDGET_MS` (100 to 2000, default 2000) bounds the wait.
    pub fn from_env(env: &Env) -> Result<Option<OnCallConfig>, ConfigError> {
        let Some(path) = env.get("SERVICENOW_ONCALL_PATH") else {
            return Ok(None);
        };
        if !path.starts_with("/api/") || path.contains(['?', '#', ' ']) {
            return Err(Env::invalid(
                "SERVICENOW_ONCALL_PATH",
                format!(
                    "{path:?} is not a REST API path such as {}",
                    escalation_adapters::servicenow::oncall::DEFAULT_PATH
                ),
            ));
        }
        let max = escalation_adapters::servicenow::oncall::MAX_BUDGET.as_millis() as u32;
        let budget_ms = env.number("SERVICENOW_ONCALL_BUDGET_MS", max, max)?;
        if budget_ms < 100 {
            return Err(Env::invalid(
                "SERVICENOW_ONCALL_BUDGET_MS",
                "must be at least 100".into(),
            ));
        }
        Ok(Some(OnCallConfig {
            instance_url: env.required_url("SERVICENOW_INSTANCE_URL")?,
            path: path.trim_end_matches('/').to_string(),
            budget_ms,
        }))
    }
}

impl EngineConfig {
    pub fn from_map(env: &HashMap<String, String>) -> Result<EngineConfig, ConfigError> {
        let env = Env(env);
        let flow_sid = env.need("TWILIO_FLOW_SID")?;
        if !(flow_sid.len() == 34
            && flow_sid.starts_with("FW")
            && flow_sid[2..].bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(Env::invalid(
                "TWILIO_FLOW_SID",
                format!("{flow_sid:?} is not a flow SID (FW + 32 hex)"),
            ));
        }
        let from_number = E164::parse(&env.need("TWILIO_FROM_NUMBER")?)
            .map_err(|e| Env::invalid("TWILIO_FROM_NUMBER", e.to_string()))?;
        let rounds = env.number("ROUNDS", 1, 10)?;
        if rounds == 0 {
            return Err(Env::invalid("ROUNDS", "must be at least 1".into()));
        }
        let ring_timeout_secs = env.number("RING_TIMEOUT_SECS", 30, 600)?;
        if ring_timeout_secs < 5 {
            return Err(Env::invalid(
                "RING_TIMEOUT_SECS",
                "must be at least 5".into(),
            ));
        }
        let priorities: Vec<String> = env
            .get("ESCALATE_PRIORITIES")
            .unwrap_or_else(|| "1,2".into())
            .split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        if priorities.is_empty()
            || priorities
                .iter()
                .any(|p| !matches!(p.as_str(), "1" | "2" | "3" | "4" | "5"))
        {
            return Err(Env::invalid(
                "ESCALATE_PRIORITIES",
                "must list priorities 1 to 5, e.g. \"1,2\"".into(),
            ));
        }
        Ok(EngineConfig {
            flow_sid,
            from_number,
            table: env.need("ESCALATIONS_TABLE")?,
            queue_url: env.required_url("SN_UPDATES_QUEUE_URL")?,
            secrets_arn: env.need("SECRETS_ARN")?,
            studio_base_url: env
                .optional_url("TWILIO_STUDIO_BASE_URL")?
                .unwrap_or_else(|| "https://studio.twilio.com".into()),
            api_base_url: env
                .optional_url("TWILIO_API_BASE_URL")?
                .unwrap_or_else(|| escalation_adapters::twilio::account::API_BASE_URL.into()),
            roster_path: env.get("ROSTER_PATH"),
            decision_url: env.optional_url("DECISION_URL")?,
            local_stack: env
                .get("LOCAL_STACK")
                .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1"),
            policy_cache_secs: env.number(
                "POLICY_CACHE_SECS",
                escalation_adapters::aws::policies::CACHE_SECS as u32,
                300,
            )?,
            oncall: OnCallConfig::from_env(&env)?,
            settings: Settings {
                policy: Policy {
                    max_redials: env.number("MAX_REDIALS", 1, 5)?,
                    rounds,
                    ring_timeout_secs,
                    fallback_group: env.get("FALLBACK_GROUP"),
                    busy_retry_secs: env.number("BUSY_RETRY_SECS", 30, 3600)?,
                    max_busy_retries: env.number("MAX_BUSY_RETRIES", 3, 20)?,
                },
                priorities,
                sweep_grace_secs: env.number("SWEEP_GRACE_SECS", 30, 3600)?,
            },
            twilio_creates_per_sec: env.number("TWILIO_CREATES_PER_SEC", 20, 1000)?.max(1),
            bridge_url: env.optional_url("BRIDGE_URL")?,
            bundle_window_secs: env.number("BUNDLE_WINDOW_SECS", 0, 300)?,
            dial_queue_url: env.optional_url("DIAL_QUEUE_URL")?,
        })
    }
}

/// incident-updater: the table (for its marks), the secret (ServiceNow credentials) and
/// the instance.
#[derive(Debug, Clone)]
pub struct UpdaterConfig {
    pub table: String,
    pub secrets_arn: String,
    pub servicenow_url: String,
}

impl UpdaterConfig {
    pub fn from_map(env: &HashMap<String, String>) -> Result<UpdaterConfig, ConfigError> {
        let env = Env(env);
        Ok(UpdaterConfig {
            table: env.need("ESCALATIONS_TABLE")?,
            secrets_arn: env.need("SECRETS_ARN")?,
            servicenow_url: env.required_url("SERVICENOW_INSTANCE_URL")?,
        })
    }
}

/// flow-events: Kinesis records handled at once.
pub fn flow_events_concurrency(env: &HashMap<String, String>) -> Result<u32, ConfigError> {
    Ok(Env(env).number("FLOW_EVENTS_CONCURRENCY", 8, 64)?.max(1))
}

/// incident-trigger: the dial queue its first calls go to.
pub fn dial_queue_url(env: &HashMap<String, String>) -> Result<String, ConfigError> {
    Env(env).required_url("DIAL_QUEUE_URL")
}

/// escalation-canary: the test number it calls and how long the call may take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanaryConfig {
    /// The number whose Twilio-side answering TwiML presses 1 (`CANARY_NUMBER`).
    pub number: E164,
    /// From the start to ACCEPTED at most this long (`CANARY_TIMEOUT_SECS`, 30 to 840,
    /// default 180), else the canary has failed.
    pub timeout_secs: u32,
}

impl CanaryConfig {
    pub fn from_map(env: &HashMap<String, String>) -> Result<CanaryConfig, ConfigError> {
        let env = Env(env);
        let number = E164::parse(&env.need("CANARY_NUMBER")?)
            .map_err(|e| Env::invalid("CANARY_NUMBER", e.to_string()))?;
        let timeout_secs = env.number("CANARY_TIMEOUT_SECS", 180, 840)?;
        if timeout_secs < 30 {
            return Err(Env::invalid(
                "CANARY_TIMEOUT_SECS",
                "must be at least 30 (a call rings, is answered and pressed)".into(),
            ));
        }
        Ok(CanaryConfig {
            number,
            timeout_secs,
        })
    }
}

/// The process environment.
pub fn process_env() -> HashMap<String, String> {
    std::env::vars().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> HashMap<String, String> {
        [
            ("TWILIO_FLOW_SID", "FW0123456789abcdef0123456789abcdef"),
            ("TWILIO_FROM_NUMBER", "+15550109999"),
            ("ESCALATIONS_TABLE", "escalations"),
            (
                "SN_UPDATES_QUEUE_URL",
                "http://127.0.0.1:4566/000000000000/sn-updates.fifo",
            ),
            (
                "SECRETS_ARN",
                "arn:aws:secretsmanager:us-east-1:000000000000:secret:esc",
            ),
            (
                "SERVICENOW_INSTANCE_URL",
                "https://dev12345.service-now.com/",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn defaults() {
        let c = EngineConfig::from_map(&env()).unwrap();
        assert_eq!(c.studio_base_url, "https://studio.twilio.com");
        assert_eq!(c.settings, Settings::default());
        let u = UpdaterConfig::from_map(&env()).unwrap();
        assert_eq!(u.servicenow_url, "https://dev12345.service-now.com");
    }

    #[test]
    fn each_function_reads_only_its_own_variables() {
        let mut e = env();
        e.remove("SERVICENOW_INSTANCE_URL");
        assert!(
            EngineConfig::from_map(&e).is_ok(),
            "the engine never talks to ServiceNow"
        );
        let only_updater: HashMap<String, String> = env()
            .into_iter()
            .filter(|(k, _)| {
                [
                    "ESCALATIONS_TABLE",
                    "SECRETS_ARN",
                    "SERVICENOW_INSTANCE_URL",
                ]
                .contains(&k.as_str())
            })
            .collect();
        assert!(
            UpdaterConfig::from_map(&only_updater).is_ok(),
            "no Twilio settings needed"
        );
    }

    #[test]
    fn errors_name_the_variable() {
        let mut e = env();
        e.remove("TWILIO_FLOW_SID");
        assert_eq!(
            EngineConfig::from_map(&e).unwrap_err().to_string(),
            "environment variable TWILIO_FLOW_SID is not set"
        );
        let mut e = env();
        e.insert("TWILIO_FROM_NUMBER".into(), "+1XXXXXXXXXX".into());
        assert!(
            EngineConfig::from_map(&e)
                .unwrap_err()
                .to_string()
                .starts_with("environment variable TWILIO_FROM_NUMBER")
        );
        let mut e = env();
        e.insert("ROUNDS".into(), "lots".into());
        assert!(
            EngineConfig::from_map(&e)
                .unwrap_err()
                .to_string()
                .contains("ROUNDS")
        );
        let mut e = env();
        e.insert("SERVICENOW_INSTANCE_URL".into(), "dev12345".into());
        assert!(
            UpdaterConfig::from_map(&e)
                .unwrap_err()
                .to_string()
                .contains("SERVICENOW_INSTANCE_URL")
        );
    }

    #[test]
    fn servicenow_on_call_is_off_unless_its_path_is_set() {
        assert_eq!(EngineConfig::from_map(&env()).unwrap().oncall, None);
        let mut e = env();
        e.insert(
            "SERVICENOW_ONCALL_PATH".into(),
            "/api/x_escalation/phone_escalation/oncall".into(),
        );
        let on = EngineConfig::from_map(&e).unwrap().oncall.unwrap();
        assert_eq!(on.budget_ms, 2000);
        assert_eq!(on.instance_url, "https://dev12345.service-now.com");
        e.insert("SERVICENOW_ONCALL_BUDGET_MS".into(), "5000".into());
        let err = EngineConfig::from_map(&e).unwrap_err().to_string();
        assert!(err.contains("SERVICENOW_ONCALL_BUDGET_MS"), "{err}");
        e.remove("SERVICENOW_ONCALL_BUDGET_MS");
        e.remove("SERVICENOW_INSTANCE_URL");
        let err = EngineConfig::from_map(&e).unwrap_err().to_string();
        assert!(err.contains("SERVICENOW_INSTANCE_URL"), "{err}");
        e.insert("SERVICENOW_ONCALL_PATH".into(), "oncall?x=1".into());
        let err = EngineConfig::from_map(&e).unwrap_err().to_string();
        assert!(err.contains("SERVICENOW_ONCALL_PATH"), "{err}");
    }
}
