//! The doctor's Twilio checks, with the secret's API key: the credentials work, the flow the
//! functions call exists, is published and is the escalation flow, and a Kinesis sink is
//! active and subscribed to the flow-end events.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{Options, Report, field};
use crate::api::{ApiError, CredentialSource, Credentials, Twilio};
use crate::deploy::{EXECUTION_ENDED, subscriptions_of, text};
use crate::flow;

pub(super) async fn checks(
    r: &mut Report,
    opts: &Options,
    env: &HashMap<String, String>,
    flow_sid: &str,
    secret: &Map<String, Value>,
    unfilled: &[&str],
) {
    let field = |k: &str| field(secret, k);
    let names = [
        "twilio_account_sid",
        "twilio_api_key_sid",
        "twilio_api_key_secret",
    ];
    if names.iter().any(|k| unfilled.contains(k)) {
        for name in ["twilio", "studio flow", "event streams"] {
            r.skip(name, "the Twilio credentials are not filled in");
        }
        return;
    }
    let studio = env
        .get("TWILIO_STUDIO_BASE_URL")
        .filter(|v| !v.trim().is_empty())
        .unwrap_or(&opts.studio_base);
    let account = field("twilio_account_sid").to_owned();
    let tw = Twilio::new(
        Credentials {
            account_sid: account.clone(),
            username: field("twilio_api_key_sid").to_owned(),
            password: field("twilio_api_key_secret").to_owned(),
        },
        studio,
        &opts.events_base,
    )
    .with_source(CredentialSource::Secret);
    if let Err(e) = tw
        .get(
            "signing in to Twilio",
            &tw.studio_url("/v2/Flows?PageSize=1"),
        )
        .await
    {
        r.fail("twilio", e.to_string(), twilio_fix(&e));
        r.skip("studio flow", "Twilio refused the credentials");
        r.skip("event streams", "Twilio refused the credentials");
        return;
    }
    r.pass("twilio", format!("the API key works for account {account}"));

    match tw
        .get(
            "reading the Studio flow",
            &tw.studio_url(&format!("/v2/Flows/{flow_sid}")),
        )
        .await
    {
        Err(e) if e.twilio().is_some_and(|t| t.status == 404) => r.fail(
            "studio flow",
            format!("TWILIO_FLOW_SID {flow_sid} is not a flow of account {account}"),
            "deploy the flow (escalation-admin twilio deploy) and set the stack parameter \
             TwilioFlowSid to the SID it prints",
        ),
        Err(e) => r.fail("studio flow", e.to_string(), twilio_fix(&e)),
        Ok(f) => {
            let problems = f
                .get("definition")
                .filter(|d| d.is_object())
                .map(flow::contract_problems)
                .unwrap_or_default();
            let what = format!(
                "{flow_sid} {:?} revision {}",
                text(&f, "friendly_name"),
                f.get("revision").and_then(Value::as_u64).unwrap_or(0)
            );
            if text(&f, "status") != "published" {
                r.fail(
                    "studio flow",
                    format!("{what} is {}, not published", text(&f, "status")),
                    "publish it: escalation-admin twilio deploy",
                );
            } else if !problems.is_empty() {
                r.fail(
                    "studio flow",
                    format!("{what} is not the escalation flow: {}", problems.join("; ")),
                    "deploy infra/twilio/escalation-flow.json with escalation-admin twilio \
                     deploy, and point TwilioFlowSid at it",
                );
            } else {
                r.pass(
                    "studio flow",
                    format!("{what}, published, the one the functions call"),
                );
            }
        }
    }
    event_streams(r, &tw).await;
}

fn twilio_fix(e: &ApiError) -> String {
    match e.twilio().map(|t| t.status) {
        Some(401) => "put a working API key of the account in the secret (twilio_api_key_sid, \
                      twilio_api_key_secret)"
            .into(),
        Some(_) => "see Twilio's message above".into(),
        None => "check the network path to Twilio".into(),
    }
}

async fn event_streams(r: &mut Report, tw: &Twilio) {
    let wire = "run escalation-admin twilio deploy with --stream-arn, --role-arn and \
                --external-id (the stack outputs)";
    let sinks = match tw
        .list(
            "listing Event Streams sinks",
            &tw.events_url("/v1/Sinks?PageSize=50"),
            "sinks",
        )
        .await
    {
        Ok(s) => s,
        Err(e) => return r.fail("event streams", e.to_string(), twilio_fix(&e)),
    };
    let kinesis: Vec<&Value> = sinks
        .iter()
        .filter(|s| text(s, "sink_type") == "kinesis")
        .collect();
    if kinesis.is_empty() {
        return r.fail("event streams", "the account has no Kinesis sink", wire);
    }
    let mut problems = Vec::new();
    for sink in kinesis {
        let (dg, status) = (text(sink, "sid"), text(sink, "status"));
        let stream = sink
            .pointer("/sink_configuration/arn")
            .and_then(Value::as_str)
            .unwrap_or("?");
        match subscriptions_of(tw, &dg).await {
            Err(e) => return r.fail("event streams", e.to_string(), twilio_fix(&e)),
            Ok((_, Some((df, version)))) if status == "active" => {
                return r.pass(
                    "event streams",
                    format!(
                        "sink {dg} ({stream}) is active; subscription {df} sends \
                         {EXECUTION_ENDED} (schema {version})"
                    ),
                );
            }
            Ok((_, Some(_))) => problems.push(format!("sink {dg} is {status}, not active")),
            Ok((_, None)) => problems.push(format!(
                "sink {dg} ({stream}) is not subscribed to {EXECUTION_ENDED}"
            )),
        }
    }
    r.fail(
        "event streams",
        problems.join("; "),
        format!(
            "{wire}; a sink Twilio cannot write to stays inactive (check the role's external id)"
        ),
    );
}
