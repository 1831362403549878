//! What `deploy` checks before it changes anything: the sink inputs (named by flag) and the
//! flow, through Twilio's `POST /v2/Flows/Validate`.

use serde_json::Value;

use super::AdminError;
use crate::api::Twilio;

/// Checks the values that end up in the sink configuration; the message names the flag.
pub fn check_sink_inputs(
    stream_arn: &str,
    role_arn: &str,
    external_id: &str,
) -> Result<(), AdminError> {
    let parts: Vec<&str> = stream_arn.splitn(6, ':').collect();
    let stream_ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "kinesis"
        && !parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5]
            .strip_prefix("stream/")
            .is_some_and(|n| !n.is_empty());
    if !stream_ok {
        return Err(AdminError::Usage(format!(
            "--stream-arn {stream_arn:?} is not a Kinesis stream ARN \
             (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME, the stack output StreamArn)"
        )));
    }
    let parts: Vec<&str> = role_arn.splitn(6, ':').collect();
    let role_ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5]
            .strip_prefix("role/")
            .is_some_and(|n| !n.is_empty());
    if !role_ok {
        return Err(AdminError::Usage(format!(
            "--role-arn {role_arn:?} is not an IAM role ARN \
             (arn:aws:iam::ACCOUNT:role/NAME, the stack output TwilioEventStreamsRoleArn)"
        )));
    }
    let id_ok = (2..=1224).contains(&external_id.len())
        && external_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@:/-_".contains(&b));
    if !id_ok {
        return Err(AdminError::Usage(
            "--external-id must be 2 to 1224 characters from A-Z a-z 0-9 + = , . @ : / - _ \
             (the stack output TwilioEventStreamsExternalId)"
                .into(),
        ));
    }
    Ok(())
}

/// `POST /v2/Flows/Validate`. `Err(InvalidFlow)` lists Twilio's `details.errors`.
pub async fn validate(
    tw: &Twilio,
    friendly_name: &str,
    definition: &Value,
) -> Result<(), AdminError> {
    let url = tw.studio_url("/v2/Flows/Validate");
    let form = [
        ("FriendlyName", friendly_name.to_owned()),
        ("Status", "published".to_owned()),
        ("Definition", definition.to_string()),
    ];
    match tw.post("validating the flow", &url, &form).await {
        Ok(body) if body.get("valid") == Some(&Value::Bool(true)) => Ok(()),
        Ok(body) => Err(AdminError::InvalidFlow(format!(
            "  Flows/Validate answered {body}"
        ))),
        Err(e) => match e.twilio() {
            Some(t) if t.status == 400 => {
                let errors = t.flow_errors();
                let mut lines = vec![format!(
                    "  {}{}",
                    t.code.map(|c| format!("error {c}: ")).unwrap_or_default(),
                    t.message
                )];
                lines.extend(errors.iter().map(|(p, m)| format!("  {p}: {m}")));
                Err(AdminError::InvalidFlow(lines.join("\n")))
            }
            _ => Err(e.into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sink_inputs_are_checked_by_flag() {
        let stream = "arn:aws:kinesis:us-east-1:111111111111:stream/flow-events";
        let role = "arn:aws:iam::111111111111:role/twilio";
        assert!(check_sink_inputs(stream, role, "0123456789abcdef").is_ok());
        let err = |s: &str, r: &str, id: &str| match check_sink_inputs(s, r, id) {
            Err(AdminError::Usage(m)) => m,
            other => panic!("expected a usage error, got {other:?}"),
        };
        assert!(err("flow-events", role, "abc").starts_with("--stream-arn"));
        assert!(
            err("arn:aws:kinesis:us-east-1:1111:stream/x", role, "abc").starts_with("--stream-arn")
        );
        assert!(err(stream, "arn:aws:iam::111111111111:user/bob", "abc").starts_with("--role-arn"));
        assert!(err(stream, role, "x").starts_with("--external-id"));
        assert!(err(stream, role, "has space").starts_with("--external-id"));
    }
}
