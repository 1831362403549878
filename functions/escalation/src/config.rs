//! Configuration from the environment and secrets from Secrets Manager (DESIGN §6).

use crate::domain::Policy;
use crate::phone::E164;
use crate::signature::SigningKey;
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name}: {problem}")]
    Invalid { name: &'static str, problem: String },
    #[error("secret {arn}: {problem}")]
    Secret { arn: String, problem: String },
    #[error(transparent)]
    Roster(#[from] crate::roster::RosterError),
}

/// Non-secret settings, the same for every function.
#[derive(Debug, Clone)]
pub struct Config {
    pub flow_sid: String,
    pub from_number: E164,
    pub table: String,
    pub queue_url: String,
    pub secrets_arn: String,
    pub servicenow_url: String,
    pub studio_base_url: String,
    pub roster_path: Option<String>,
    pub policy: Policy,
    /// Incident priorities that start an escalation.
    pub priorities: Vec<String>,
    /// The sweeper leaves an attempt alone this long past its due time (DIALING: after it
    /// was written; CALLING: after the ring timeout) before stepping in.
    pub sweep_grace_secs: u32,
    /// Studio execution creates per second from one container (Twilio's limit: 20/s).
    pub twilio_creates_per_sec: u32,
    /// Kinesis records processed at once by flow-events.
    pub flow_events_concurrency: u32,
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_map(&std::env::vars().collect())
    }

    /// Parse from a map (the environment in production, a literal map in tests).
    pub fn from_map(env: &HashMap<String, String>) -> Result<Config, ConfigError> {
        let get = |name: &'static str| {
            env.get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let need = |name: &'static str| get(name).ok_or(ConfigError::Missing(name));
        let invalid = |name: &'static str, problem: String| ConfigError::Invalid { name, problem };
        let number = |name: &'static str, default: u32, max: u32| -> Result<u32, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(v) => match v.parse::<u32>() {
                    Ok(n) if n <= max => Ok(n),
                    _ => Err(invalid(
                        name,
                        format!("{v:?} is not a whole number between 0 and {max}"),
                    )),
                },
            }
        };
        let url = |name: &'static str, v: String| -> Result<String, ConfigError> {
            if v.starts_with("https://") || v.starts_with("http://") {
                Ok(v.trim_end_matches('/').to_string())
            } else {
                Err(invalid(name, format!("{v:?} is not an http(s) URL")))
            }
        };

        let flow_sid = need("TWILIO_FLOW_SID")?;
        if !(flow_sid.len() == 34
            && flow_sid.starts_with("FW")
            && flow_sid[2..].bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(invalid(
                "TWILIO_FLOW_SID",
                format!("{flow_sid:?} is not a flow SID (FW + 32 hex)"),
            ));
        }
        let from_number = E164::parse(&need("TWILIO_FROM_NUMBER")?)
            .map_err(|e| invalid("TWILIO_FROM_NUMBER", e.to_string()))?;
        let rounds = number("ROUNDS", 1, 10)?;
        if rounds == 0 {
            return Err(invalid("ROUNDS", "must be at least 1".into()));
        }
        let ring_timeout_secs = number("RING_TIMEOUT_SECS", 30, 600)?;
        if ring_timeout_secs < 5 {
            return Err(invalid("RING_TIMEOUT_SECS", "must be at least 5".into()));
        }
        let priorities: Vec<String> = get("ESCALATE_PRIORITIES")
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
            return Err(invalid(
                "ESCALATE_PRIORITIES",
                "must list priorities 1 to 5, e.g. \"1,2\"".into(),
            ));
        }
        Ok(Config {
            flow_sid,
            from_number,
            table: need("ESCALATIONS_TABLE")?,
            queue_url: url("SN_UPDATES_QUEUE_URL", need("SN_UPDATES_QUEUE_URL")?)?,
            secrets_arn: need("SECRETS_ARN")?,
            servicenow_url: url("SERVICENOW_INSTANCE_URL", need("SERVICENOW_INSTANCE_URL")?)?,
            studio_base_url: url(
                "TWILIO_STUDIO_BASE_URL",
                get("TWILIO_STUDIO_BASE_URL").unwrap_or_else(|| "https://studio.twilio.com".into()),
            )?,
            roster_path: get("ROSTER_PATH"),
            policy: Policy {
                max_redials: number("MAX_REDIALS", 1, 5)?,
                rounds,
                ring_timeout_secs,
                fallback_group: get("FALLBACK_GROUP"),
                busy_retry_secs: number("BUSY_RETRY_SECS", 30, 3600)?,
                max_busy_retries: number("MAX_BUSY_RETRIES", 3, 20)?,
            },
            sweep_grace_secs: number("SWEEP_GRACE_SECS", 30, 3600)?,
            twilio_creates_per_sec: number("TWILIO_CREATES_PER_SEC", 20, 1000)?.max(1),
            flow_events_concurrency: number("FLOW_EVENTS_CONCURRENCY", 8, 64)?.max(1),
            priorities,
        })
    }

    pub fn roster(&self) -> Result<crate::roster::Roster, ConfigError> {
        Ok(match &self.roster_path {
            Some(p) => crate::roster::Roster::load(std::path::Path::new(p))?,
            None => crate::roster::Roster::bundled()?,
        })
    }
}

/// The JSON stored in the `SECRETS_ARN` secret. Debug never prints values.
#[derive(Clone, Deserialize)]
pub struct Secrets {
    pub twilio_account_sid: String,
    pub twilio_api_key_sid: String,
    pub twilio_api_key_secret: String,
    pub servicenow_username: String,
    pub servicenow_password: String,
    pub trigger_hmac_key: String,
    /// The Twilio account's primary Auth Token, used only to check `X-Twilio-Signature` on
    /// inbound webhooks (voice-inbound refuses to start without it). Optional for the rest.
    #[serde(default)]
    pub twilio_auth_token: Option<String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(<redacted>)")
    }
}

impl Secrets {
    /// Parse and check the secret; problems name the field, never its value.
    pub fn parse(arn: &str, text: &str) -> Result<(Secrets, SigningKey), ConfigError> {
        let fail = |problem: String| ConfigError::Secret {
            arn: arn.to_string(),
            problem,
        };
        let s: Secrets = serde_json::from_str(text).map_err(|e| {
            // serde's message names the missing field; it does not echo values for these types.
            fail(format!("not the expected JSON object: {e}"))
        })?;
        for (name, value) in [
            ("twilio_account_sid", &s.twilio_account_sid),
            ("twilio_api_key_sid", &s.twilio_api_key_sid),
            ("twilio_api_key_secret", &s.twilio_api_key_secret),
            ("servicenow_username", &s.servicenow_username),
            ("servicenow_password", &s.servicenow_password),
        ] {
            if value.trim().is_empty() {
                return Err(fail(format!("{name} is empty")));
            }
        }
        let key = SigningKey::from_base64(&s.trigger_hmac_key).map_err(|e| fail(e.to_string()))?;
        Ok((s, key))
    }

    pub async fn fetch(
        client: &aws_sdk_secretsmanager::Client,
        arn: &str,
    ) -> Result<(Secrets, SigningKey), ConfigError> {
        let out = client
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .map_err(|e| ConfigError::Secret {
                arn: arn.to_string(),
                problem: aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string(),
            })?;
        let text = out.secret_string().ok_or_else(|| ConfigError::Secret {
            arn: arn.to_string(),
            problem: "has no SecretString".into(),
        })?;
        Secrets::parse(arn, text)
    }
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
        let c = Config::from_map(&env()).unwrap();
        assert_eq!(c.studio_base_url, "https://studio.twilio.com");
        assert_eq!(c.servicenow_url, "https://dev12345.service-now.com");
        assert_eq!(c.policy, Policy::default());
        assert_eq!(c.priorities, ["1", "2"]);
        assert!(c.roster().is_ok());
    }

    #[test]
    fn errors_name_the_variable() {
        let mut e = env();
        e.remove("TWILIO_FLOW_SID");
        assert_eq!(
            Config::from_map(&e).unwrap_err().to_string(),
            "environment variable TWILIO_FLOW_SID is not set"
        );
        let mut e = env();
        e.insert("TWILIO_FROM_NUMBER".into(), "+1XXXXXXXXXX".into());
        assert!(
            Config::from_map(&e)
                .unwrap_err()
                .to_string()
                .starts_with("environment variable TWILIO_FROM_NUMBER")
        );
        let mut e = env();
        e.insert("ROUNDS".into(), "lots".into());
        assert!(
            Config::from_map(&e)
                .unwrap_err()
                .to_string()
                .contains("ROUNDS")
        );
        let mut e = env();
        e.insert("SERVICENOW_INSTANCE_URL".into(), "dev12345".into());
        assert!(
            Config::from_map(&e)
                .unwrap_err()
                .to_string()
                .contains("SERVICENOW_INSTANCE_URL")
        );
        let mut e = env();
        e.insert("ROSTER_PATH".into(), "/nonexistent/agents.json".into());
        assert!(
            Config::from_map(&e)
                .unwrap()
                .roster()
                .unwrap_err()
                .to_string()
                .contains("/nonexistent/agents.json")
        );
    }

    #[test]
    fn secrets_are_checked_and_never_printed() {
        let good = r#"{"twilio_account_sid":"ACx","twilio_api_key_sid":"SKx","twilio_api_key_secret":"very-secret-value","servicenow_username":"svc","servicenow_password":"pw-secret","trigger_hmac_key":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}"#;
        let (s, _) = Secrets::parse("arn", good).unwrap();
        assert!(!format!("{s:?}").contains("very-secret-value"));
        let missing = good.replace(r#""servicenow_password":"pw-secret","#, "");
        let err = Secrets::parse("arn", &missing).unwrap_err().to_string();
        assert!(err.contains("servicenow_password"), "{err}");
        let short = good.replace("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "c2hvcnQ=");
        let err = Secrets::parse("arn", &short).unwrap_err().to_string();
        assert!(
            err.contains("trigger_hmac_key") && !err.contains("c2hvcnQ="),
            "{err}"
        );
        let empty = good.replace("svc", " ");
        assert!(
            Secrets::parse("arn", &empty)
                .unwrap_err()
                .to_string()
                .contains("servicenow_username is empty")
        );
    }
}
