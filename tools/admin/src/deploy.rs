//! `escalation-admin twilio deploy`: the Studio flow, the Event Streams Kinesis sink and the
//! subscription to `com.twilio.studio.flow.execution.ended`, each created, updated or left
//! alone so that running it again changes nothing.

use std::fmt;
use std::io::Write;

use serde_json::{Value, json};

use crate::api::{ApiError, Twilio};
use crate::flow::{self, FlowFileError};

mod checks;
pub use checks::{check_sink_inputs, validate};

/// The event type the flow-events Lambda consumes.
pub const EXECUTION_ENDED: &str = "com.twilio.studio.flow.execution.ended";
/// Schema version subscribed to (v2 carries the same data as v1; Twilio's Studio event-type docs).
pub const EXECUTION_ENDED_SCHEMA: u64 = 2;

/// Everything `deploy` needs.
#[derive(Debug, Clone)]
pub struct DeploySpec {
    /// The flow definition (already loaded and contract-checked, see [`flow::load`]).
    pub definition: Value,
    pub friendly_name: String,
    /// Extra text for the revision's commit message.
    pub commit_message: Option<String>,
    /// The Event Streams side; `None` deploys the flow only (before the stack exists).
    pub events: Option<SinkSpec>,
}

/// The Kinesis sink: the stack outputs StreamArn, TwilioEventStreamsRoleArn and
/// TwilioEventStreamsExternalId.
#[derive(Debug, Clone)]
pub struct SinkSpec {
    pub stream_arn: String,
    pub role_arn: String,
    pub external_id: String,
    /// Sink description; default: names the stream.
    pub description: Option<String>,
}

/// What happened to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    Updated,
    Unchanged,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Change::Created => "created",
            Change::Updated => "updated",
            Change::Unchanged => "unchanged",
        })
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub change: Change,
    pub sid: String,
    pub detail: String,
}

/// The result of a deploy. `sink` and `subscription` are `None` when the spec had no
/// Event Streams part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployReport {
    pub flow: Outcome,
    pub sink: Option<Outcome>,
    pub subscription: Option<Outcome>,
    pub warnings: Vec<String>,
}

impl DeployReport {
    /// True when any resource was created or updated.
    pub fn changed(&self) -> bool {
        std::iter::once(&self.flow)
            .chain(self.sink.as_ref())
            .chain(self.subscription.as_ref())
            .any(|o| o.change != Change::Unchanged)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Wrong input: a flag value, missing credentials. Exit code 2.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    FlowFile(#[from] FlowFileError),
    /// Twilio's Validate refused the flow.
    #[error("Twilio refused the flow definition ({})", .0.lines().next().unwrap_or_default())]
    InvalidFlow(String),
    #[error(transparent)]
    Api(#[from] ApiError),
    /// Twilio's state does not allow a safe automatic change.
    #[error("{0}")]
    Conflict(String),
    #[error("cannot write the report: {0}")]
    Output(#[from] std::io::Error),
}

impl AdminError {
    /// Process exit code: 2 for usage errors, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            AdminError::Usage(_) => 2,
            _ => 1,
        }
    }

    /// The lines to print (first line plus details).
    pub fn report(&self) -> String {
        match self {
            AdminError::InvalidFlow(details) => {
                format!("error: Twilio refused the flow definition:\n{details}")
            }
            other => format!("error: {other}"),
        }
    }
}

pub(crate) fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn line(out: &mut dyn Write, kind: &str, o: &Outcome) -> std::io::Result<()> {
    writeln!(
        out,
        "{kind:<13} {:<10} {}  {}",
        o.change.to_string(),
        o.sid,
        o.detail
    )
}

/// Validates, then brings the flow, the sink and the subscription in line with `spec`,
/// writing one line per resource to `out` as soon as it is done.
pub async fn deploy(
    tw: &Twilio,
    spec: &DeploySpec,
    out: &mut dyn Write,
) -> Result<DeployReport, AdminError> {
    if let Some(sink) = &spec.events {
        check_sink_inputs(&sink.stream_arn, &sink.role_arn, &sink.external_id)?;
    }
    if spec.friendly_name.trim().is_empty() {
        return Err(AdminError::Usage(
            "--friendly-name must not be empty".into(),
        ));
    }
    validate(tw, &spec.friendly_name, &spec.definition).await?;
    let mut warnings = Vec::new();

    let flow = deploy_flow(tw, spec, &mut warnings).await?;
    line(out, "flow", &flow)?;
    for w in &warnings {
        writeln!(out, "warning: {w}")?;
    }
    let Some(sink_spec) = &spec.events else {
        writeln!(
            out,
            "{:<13} {:<10} (no --stream-arn/--role-arn/--external-id: run again with the stack outputs)",
            "sink", "skipped"
        )?;
        return Ok(DeployReport {
            flow,
            sink: None,
            subscription: None,
            warnings,
        });
    };
    let (sink, sink_status) = deploy_sink(tw, sink_spec).await?;
    line(out, "sink", &sink)?;
    if sink_status != "active" {
        let w = format!(
            "sink {} has status {sink_status:?}, not \"active\": Twilio delivers events only to an active sink \
             (see https://www.twilio.com/docs/events/event-streams/sink-resource); run this again once it is active",
            sink.sid
        );
        writeln!(out, "warning: {w}")?;
        warnings.push(w);
    }
    let subscription = deploy_subscription(tw, &sink.sid).await?;
    line(out, "subscription", &subscription)?;
    Ok(DeployReport {
        flow,
        sink: Some(sink),
        subscription: Some(subscription),
        warnings,
    })
}

async fn deploy_flow(
    tw: &Twilio,
    spec: &DeploySpec,
    warnings: &mut Vec<String>,
) -> Result<Outcome, AdminError> {
    let tag = flow::commit_tag(&spec.definition);
    let commit = match &spec.commit_message {
        Some(m) if !m.trim().is_empty() => format!("{} {tag}", m.trim()),
        _ => format!("Deployed by escalation-admin {tag}"),
    };
    let flows = tw
        .list(
            "listing Studio flows",
            &tw.studio_url("/v2/Flows?PageSize=50"),
            "flows",
        )
        .await?;
    let named: Vec<&Value> = flows
        .iter()
        .filter(|f| {
            f.get("friendly_name").and_then(Value::as_str) == Some(spec.friendly_name.as_str())
        })
        .collect();
    let form = |status: &str| {
        vec![
            ("FriendlyName", spec.friendly_name.clone()),
            ("Status", status.to_owned()),
            ("Definition", spec.definition.to_string()),
            ("CommitMessage", commit.clone()),
        ]
    };
    let detail = |body: &Value| {
        format!(
            "{:?} revision {} ({})",
            spec.friendly_name,
            body.get("revision").and_then(Value::as_u64).unwrap_or(0),
            text(body, "status"),
        )
    };
    match named.as_slice() {
        [] => {
            let body = tw
                .post(
                    "creating the Studio flow",
                    &tw.studio_url("/v2/Flows"),
                    &form("published"),
                )
                .await?;
            Ok(Outcome {
                change: Change::Created,
                sid: text(&body, "sid"),
                detail: detail(&body),
            })
        }
        [one] => {
            let sid = text(one, "sid");
            let url = tw.studio_url(&format!("/v2/Flows/{sid}"));
            let current = tw.get("reading the Studio flow", &url).await?;
            let account = text(&current, "account_sid");
            if !account.is_empty() && account != tw.account_sid() {
                warnings.push(format!(
                    "flow {sid} belongs to account {account}, not TWILIO_ACCOUNT_SID {}",
                    tw.account_sid()
                ));
            }
            let published = text(&current, "status") == "published";
            let same = current.get("definition") == Some(&spec.definition)
                || current
                    .get("commit_message")
                    .and_then(Value::as_str)
                    .is_some_and(|m| m.contains(&tag));
            if published && same {
                return Ok(Outcome {
                    change: Change::Unchanged,
                    sid,
                    detail: detail(&current),
                });
            }
            let body = tw
                .post("updating the Studio flow", &url, &form("published"))
                .await?;
            Ok(Outcome {
                change: Change::Updated,
                sid,
                detail: detail(&body),
            })
        }
        several => {
            let sids: Vec<String> = several.iter().map(|f| text(f, "sid")).collect();
            Err(AdminError::Conflict(format!(
                "{} Studio flows are named {:?} ({}): delete or rename the extra ones in the Twilio console, \
                 or pass another --friendly-name",
                several.len(),
                spec.friendly_name,
                sids.join(", ")
            )))
        }
    }
}

async fn deploy_sink(tw: &Twilio, spec: &SinkSpec) -> Result<(Outcome, String), AdminError> {
    let sinks = tw
        .list(
            "listing Event Streams sinks",
            &tw.events_url("/v1/Sinks?PageSize=50"),
            "sinks",
        )
        .await?;
    let config = |s: &Value, key: &str| {
        s.pointer(&format!("/sink_configuration/{key}"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let ours: Vec<&Value> = sinks
        .iter()
        .filter(|s| {
            text(s, "sink_type") == "kinesis"
                && config(s, "arn").as_deref() == Some(spec.stream_arn.as_str())
                && config(s, "role_arn").as_deref() == Some(spec.role_arn.as_str())
        })
        .collect();
    let detail = |s: &Value| format!("kinesis {} (status {})", spec.stream_arn, text(s, "status"));
    // Twilio may leave the external id out of what it shows: then it cannot differ.
    let same_id = |s: &Value| config(s, "external_id").is_none_or(|id| id == spec.external_id);
    if let Some(existing) = ours.iter().find(|s| same_id(s)) {
        return Ok((
            Outcome {
                change: Change::Unchanged,
                sid: text(existing, "sid"),
                detail: detail(existing),
            },
            text(existing, "status"),
        ));
    }
    if let Some(other) = ours.first() {
        let sid = text(other, "sid");
        return Err(AdminError::Conflict(format!(
            "sink {sid} already sends to {} through {} but with another external id, so Twilio could not \
             assume the role with it. Pass the external id the stack was deployed with, or delete the sink \
             (curl -X DELETE {} -u \"$TWILIO_API_KEY_SID:$TWILIO_API_KEY_SECRET\") and run this again",
            spec.stream_arn,
            spec.role_arn,
            tw.events_url(&format!("/v1/Sinks/{sid}"))
        )));
    }
    let description = spec.description.clone().unwrap_or_else(|| {
        let stream = spec.stream_arn.rsplit('/').next().unwrap_or_default();
        format!("Phone escalation: Studio events to Kinesis stream {stream}")
    });
    let configuration = json!({
        "arn": spec.stream_arn,
        "role_arn": spec.role_arn,
        "external_id": spec.external_id,
    });
    let body = tw
        .post(
            "creating the Kinesis sink",
            &tw.events_url("/v1/Sinks"),
            &[
                ("Description", description),
                ("SinkType", "kinesis".to_owned()),
                ("SinkConfiguration", configuration.to_string()),
            ],
        )
        .await?;
    Ok((
        Outcome {
            change: Change::Created,
            sid: text(&body, "sid"),
            detail: detail(&body),
        },
        text(&body, "status"),
    ))
}

/// The subscriptions on `sink_sid`, and the one (SID, schema version) that carries
/// [`EXECUTION_ENDED`], if any.
pub async fn subscriptions_of(
    tw: &Twilio,
    sink_sid: &str,
) -> Result<(Vec<Value>, Option<(String, u64)>), ApiError> {
    let subscriptions = tw
        .list(
            "listing Event Streams subscriptions",
            &tw.events_url(&format!("/v1/Subscriptions?SinkSid={sink_sid}&PageSize=50")),
            "subscriptions",
        )
        .await?;
    let ours: Vec<Value> = subscriptions
        .into_iter()
        .filter(|s| text(s, "sink_sid") == sink_sid)
        .collect();
    for sub in &ours {
        let df = text(sub, "sid");
        let types = tw
            .list(
                "listing the subscription's event types",
                &tw.events_url(&format!(
                    "/v1/Subscriptions/{df}/SubscribedEvents?PageSize=50"
                )),
                "types",
            )
            .await?;
        if let Some(t) = types.iter().find(|t| text(t, "type") == EXECUTION_ENDED) {
            let version = t.get("schema_version").and_then(Value::as_u64).unwrap_or(0);
            return Ok((ours, Some((df, version))));
        }
    }
    Ok((ours, None))
}

async fn deploy_subscription(tw: &Twilio, sink_sid: &str) -> Result<Outcome, AdminError> {
    let (ours, found) = subscriptions_of(tw, sink_sid).await?;
    if let Some((df, version)) = found {
        return Ok(Outcome {
            change: Change::Unchanged,
            sid: df,
            detail: format!("{EXECUTION_ENDED} (schema {version}) -> sink {sink_sid}"),
        });
    }
    let detail = format!("{EXECUTION_ENDED} (schema {EXECUTION_ENDED_SCHEMA}) -> sink {sink_sid}");
    if let Some(sub) = ours.first() {
        // A subscription on our sink without the type: add it there (one per sink).
        let df = text(sub, "sid");
        tw.post(
            "adding the event type to the subscription",
            &tw.events_url(&format!("/v1/Subscriptions/{df}/SubscribedEvents")),
            &[
                ("Type", EXECUTION_ENDED.to_owned()),
                ("SchemaVersion", EXECUTION_ENDED_SCHEMA.to_string()),
            ],
        )
        .await?;
        return Ok(Outcome {
            change: Change::Updated,
            sid: df,
            detail,
        });
    }
    let types = json!({"type": EXECUTION_ENDED, "schema_version": EXECUTION_ENDED_SCHEMA});
    let body = tw
        .post(
            "creating the Event Streams subscription",
            &tw.events_url("/v1/Subscriptions"),
            &[
                (
                    "Description",
                    "Phone escalation: Studio execution ended".to_owned(),
                ),
                ("SinkSid", sink_sid.to_owned()),
                // Repeated field, one JSON object per event type (a single JSON array is refused).
                ("Types", types.to_string()),
            ],
        )
        .await?;
    Ok(Outcome {
        change: Change::Created,
        sid: text(&body, "sid"),
        detail,
    })
}

/// The closing lines of a successful deploy.
pub fn summary(report: &DeployReport) -> String {
    let mut s = String::new();
    if !report.changed() {
        s.push_str("Nothing changed: Twilio already matches.\n");
    }
    if report.sink.is_none() {
        s.push_str(
            "Event Streams not wired yet: once the stack is deployed, run this again with \
             --stream-arn, --role-arn and --external-id (its outputs).\n",
        );
    }
    s.push_str(&format!(
        "TWILIO_FLOW_SID={}\n(the stack parameter TwilioFlowSid; `sam deploy --parameter-overrides TwilioFlowSid={}`)\n",
        report.flow.sid, report.flow.sid
    ));
    s
}
