//! The deployment's secrets: one Secrets Manager secret holding a JSON object, fetched once
//! per container. Each function asks only for the fields it uses; a problem names the
//! field, never its value, and `Debug` prints nothing.

use crate::signing::SigningKey;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("secret {arn}: {problem}")]
pub struct SecretError {
    pub arn: String,
    pub problem: String,
}

/// The fields of the secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    TwilioAccountSid,
    TwilioApiKeySid,
    TwilioApiKeySecret,
    ServiceNowUsername,
    ServiceNowPassword,
    /// OAuth client credentials for ServiceNow (optional; with both set they replace the
    /// username and password).
    ServiceNowClientId,
    ServiceNowClientSecret,
    TriggerHmacKey,
    /// The Twilio account's primary Auth Token: it signs the inbound line's webhooks.
    TwilioAuthToken,
}

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Field::TwilioAccountSid => "twilio_account_sid",
            Field::TwilioApiKeySid => "twilio_api_key_sid",
            Field::TwilioApiKeySecret => "twilio_api_key_secret",
            Field::ServiceNowUsername => "servicenow_username",
            Field::ServiceNowPassword => "servicenow_password",
            Field::ServiceNowClientId => "servicenow_client_id",
            Field::ServiceNowClientSecret => "servicenow_client_secret",
            Field::TriggerHmacKey => "trigger_hmac_key",
            Field::TwilioAuthToken => "twilio_auth_token",
        }
    }
}

#[derive(Clone, Default, Deserialize)]
struct Raw {
    twilio_account_sid: Option<String>,
    twilio_api_key_sid: Option<String>,
    twilio_api_key_secret: Option<String>,
    servicenow_username: Option<String>,
    servicenow_password: Option<String>,
    servicenow_client_id: Option<String>,
    servicenow_client_secret: Option<String>,
    trigger_hmac_key: Option<String>,
    twilio_auth_token: Option<String>,
}

/// The secret's JSON. Fields are read with [`Secrets::require`].
#[derive(Clone)]
pub struct Secrets {
    arn: String,
    raw: Raw,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(<redacted>)")
    }
}

/// The placeholder the deployment template writes into a secret nobody has filled in.
pub const PLACEHOLDER: &str = "FILL_ME";

impl Secrets {
    /// Parse the secret's text: it must be a JSON object of strings.
    pub fn parse(arn: &str, text: &str) -> Result<Secrets, SecretError> {
        let raw: Raw = serde_json::from_str(text).map_err(|e| SecretError {
            arn: arn.to_string(),
            // serde's message names the field; it does not echo values for these types.
            problem: format!("not the expected JSON object: {e}"),
        })?;
        Ok(Secrets {
            arn: arn.to_string(),
            raw,
        })
    }

    /// A problem with the secret's contents (naming fields, never values).
    pub(crate) fn fail(&self, problem: String) -> SecretError {
        SecretError {
            arn: self.arn.clone(),
            problem,
        }
    }

    fn value(&self, field: Field) -> &Option<String> {
        let r = &self.raw;
        match field {
            Field::TwilioAccountSid => &r.twilio_account_sid,
            Field::TwilioApiKeySid => &r.twilio_api_key_sid,
            Field::TwilioApiKeySecret => &r.twilio_api_key_secret,
            Field::ServiceNowUsername => &r.servicenow_username,
            Field::ServiceNowPassword => &r.servicenow_password,
            Field::ServiceNowClientId => &r.servicenow_client_id,
            Field::ServiceNowClientSecret => &r.servicenow_client_secret,
            Field::TriggerHmacKey => &r.trigger_hmac_key,
            Field::TwilioAuthToken => &r.twilio_auth_token,
        }
    }

    /// A field that must be set: present, not blank, not the template's placeholder.
    pub fn require(&self, field: Field) -> Result<&str, SecretError> {
        match self.value(field).as_deref().map(str::trim) {
            None => Err(self.fail(format!("{} is missing", field.name()))),
            Some("") => Err(self.fail(format!("{} is empty", field.name()))),
            Some(PLACEHOLDER) => Err(self.fail(format!(
                "{} is still the {PLACEHOLDER} placeholder",
                field.name()
            ))),
            Some(v) => Ok(v),
        }
    }

    /// An optional field: `None` when absent, blank or still the placeholder.
    pub fn optional(&self, field: Field) -> Option<&str> {
        self.value(field)
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty() && *v != PLACEHOLDER)
    }

    /// The trigger's HMAC key, decoded and checked.
    pub fn signing_key(&self) -> Result<SigningKey, SecretError> {
        SigningKey::from_base64(self.require(Field::TriggerHmacKey)?)
            .map_err(|e| self.fail(e.to_string()))
    }

    /// Fetch and parse the secret.
    pub async fn fetch(
        client: &aws_sdk_secretsmanager::Client,
        arn: &str,
    ) -> Result<Secrets, SecretError> {
        let fail = |problem: String| SecretError {
            arn: arn.to_string(),
            problem,
        };
        let out = client
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .map_err(|e| {
                fail(aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string())
            })?;
        let text = out
            .secret_string()
            .ok_or_else(|| fail("has no SecretString".into()))?;
        Secrets::parse(arn, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"twilio_account_sid":"ACx","twilio_api_key_sid":"SKx","twilio_api_key_secret":"very-secret-value","servicenow_username":"svc","servicenow_password":"pw-secret","trigger_hmac_key":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}"#;

    #[test]
    fn secrets_are_checked_and_never_printed() {
        let s = Secrets::parse("arn", GOOD).unwrap();
        assert!(!format!("{s:?}").contains("very-secret-value"));
        assert_eq!(s.require(Field::ServiceNowPassword).unwrap(), "pw-secret");
        assert!(s.signing_key().is_ok());
        let missing = Secrets::parse(
            "arn",
            &GOOD.replace(r#""servicenow_password":"pw-secret","#, ""),
        )
        .unwrap();
        let err = missing
            .require(Field::ServiceNowPassword)
            .unwrap_err()
            .to_string();
        assert_eq!(err, "secret arn: servicenow_password is missing");
        let short = Secrets::parse(
            "arn",
            &GOOD.replace("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "c2hvcnQ="),
        )
        .unwrap();
        let err = short.signing_key().unwrap_err().to_string();
        assert!(
            err.contains("trigger_hmac_key") && !err.contains("c2hvcnQ="),
            "{err}"
        );
        let empty = Secrets::parse("arn", &GOOD.replace("svc", " ")).unwrap();
        assert!(
            empty
                .require(Field::ServiceNowUsername)
                .unwrap_err()
                .to_string()
                .contains("servicenow_username is empty")
        );
        assert!(
            Secrets::parse("arn", "[1]")
                .unwrap_err()
                .to_string()
                .contains("JSON object")
        );
    }

    #[test]
    fn the_template_placeholder_counts_as_unset() {
        let s = Secrets::parse(
            "arn:x",
            &GOOD.replace('}', r#","twilio_auth_token":"FILL_ME"}"#),
        )
        .unwrap();
        let e = s.require(Field::TwilioAuthToken).unwrap_err().to_string();
        assert!(
            e.contains("arn:x") && e.contains("twilio_auth_token") && e.contains("placeholder"),
            "{e}"
        );
        let s = Secrets::parse(
            "arn:x",
            &GOOD.replace('}', r#","twilio_auth_token":"tok-123"}"#),
        )
        .unwrap();
        assert_eq!(s.require(Field::TwilioAuthToken).unwrap(), "tok-123");
        assert!(!format!("{s:?}").contains("tok-123"));
    }
}
