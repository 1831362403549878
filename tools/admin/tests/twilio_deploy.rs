//! `escalation-admin twilio deploy|validate` through the library against the Twilio fake:
//! first run, second (no-change) run, updates, validation failures and conflicts. The
//! binary's own tests are in twilio_deploy_cli.rs.

use escalation_admin::deploy::{EXECUTION_ENDED, summary};
use escalation_admin::{
    AdminError, Change, Credentials, DeployReport, DeploySpec, Outcome, deploy,
};
use escalation_fakes::{SubscribedEventRecord, TwilioHandle};
use serde_json::{Value, json};

#[path = "support/twilio.rs"]
mod twilio;
use twilio::{
    ACCOUNT, EXTERNAL_ID, KEY_SECRET, KEY_SID, NAME, ROLE, STREAM, client, fake, post_by_hand,
    shipped_flow, spec,
};

fn sink(r: &DeployReport) -> &Outcome {
    r.sink.as_ref().expect("a sink outcome")
}

fn subscription(r: &DeployReport) -> &Outcome {
    r.subscription.as_ref().expect("a subscription outcome")
}

/// A Kinesis sink for the stack's stream made by hand, described as `description`: its SID.
async fn sink_by_hand(tw: &TwilioHandle, description: &str) -> String {
    let config = json!({"arn": STREAM, "role_arn": ROLE, "external_id": EXTERNAL_ID}).to_string();
    let made: Value = post_by_hand(
        tw,
        "/v1/Sinks",
        &[
            ("Description", description),
            ("SinkType", "kinesis"),
            ("SinkConfiguration", &config),
        ],
    )
    .await
    .json()
    .await
    .expect("json");
    made["sid"].as_str().expect("sid").to_owned()
}

async fn run(tw: &TwilioHandle, spec: &DeploySpec) -> (Result<DeployReport, AdminError>, String) {
    let mut out = Vec::new();
    let result = deploy(&client(tw, KEY_SECRET), spec, &mut out).await;
    (result, String::from_utf8(out).expect("utf-8 output"))
}

/// (method, path) of the requests that can change something.
fn writes(tw: &TwilioHandle) -> Vec<(String, String)> {
    tw.requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .map(|r| (r.method, r.path))
        .collect()
}

#[tokio::test]
async fn first_run_creates_everything_second_run_changes_nothing() {
    let tw = fake().await;
    let spec = spec(shipped_flow());

    let (report, out) = run(&tw, &spec).await;
    let report = report.expect("first deploy");
    assert_eq!(report.flow.change, Change::Created, "{out}");
    assert_eq!(sink(&report).change, Change::Created, "{out}");
    assert_eq!(subscription(&report).change, Change::Created, "{out}");
    assert!(report.changed());
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);

    // What Twilio now has.
    let flows = tw.flows();
    assert_eq!(flows.len(), 1);
    assert_eq!(flows[0].sid, report.flow.sid);
    assert_eq!(flows[0].friendly_name, NAME);
    assert_eq!(flows[0].status, "published");
    assert_eq!(flows[0].definition, spec.definition);
    let sinks = tw.sinks();
    assert_eq!(sinks.len(), 1);
    assert_eq!(sinks[0].sid, sink(&report).sid);
    assert_eq!(sinks[0].sink_type, "kinesis");
    assert_eq!(
        sinks[0].sink_configuration,
        json!({"arn": STREAM, "role_arn": ROLE, "external_id": EXTERNAL_ID})
    );
    let subs = tw.subscriptions();
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0].sink_sid, sinks[0].sid);
    assert_eq!(
        subs[0].types,
        vec![SubscribedEventRecord {
            event_type: EXECUTION_ENDED.into(),
            schema_version: 2
        }]
    );

    // The output names what was done, with SIDs, and the flow SID to configure.
    for (kind, sid) in [
        ("flow", &report.flow.sid),
        ("sink", &sink(&report).sid),
        ("subscription", &subscription(&report).sid),
    ] {
        let line = out
            .lines()
            .find(|l| l.starts_with(kind))
            .unwrap_or_else(|| panic!("no {kind} line in:\n{out}"));
        assert!(
            line.contains("created") && line.contains(sid.as_str()),
            "{line}"
        );
    }
    let closing = summary(&report);
    assert!(closing.contains(&format!("TWILIO_FLOW_SID={}", report.flow.sid)));
    assert!(!closing.contains("Nothing changed"));

    // Second run: same SIDs, nothing written but the validation.
    tw.clear_requests();
    let (again, out) = run(&tw, &spec).await;
    let again = again.expect("second deploy");
    assert!(!again.changed(), "{out}");
    assert_eq!(again.flow.change, Change::Unchanged);
    assert_eq!(sink(&again).change, Change::Unchanged);
    assert_eq!(subscription(&again).change, Change::Unchanged);
    assert_eq!(
        (
            &again.flow.sid,
            &sink(&again).sid,
            &subscription(&again).sid
        ),
        (
            &report.flow.sid,
            &sink(&report).sid,
            &subscription(&report).sid
        )
    );
    assert_eq!(
        writes(&tw),
        vec![("POST".to_owned(), "/v2/Flows/Validate".to_owned())]
    );
    assert_eq!(out.matches("unchanged").count(), 3, "{out}");
    assert!(summary(&again).starts_with("Nothing changed"));
    assert_eq!(tw.flows()[0].revision, 1);
    assert_eq!((tw.sinks().len(), tw.subscriptions().len()), (1, 1));
}

#[tokio::test]
async fn the_flow_can_go_first_and_the_sink_follow_once_the_stack_exists() {
    let tw = fake().await;
    // Before the stack: the flow only (its SID is a stack parameter).
    let mut flow_only = spec(shipped_flow());
    flow_only.events = None;
    let (report, out) = run(&tw, &flow_only).await;
    let report = report.expect("flow-only deploy");
    assert_eq!(report.flow.change, Change::Created);
    assert_eq!(
        (report.sink.clone(), report.subscription.clone()),
        (None, None)
    );
    assert!(out.contains("skipped"), "{out}");
    assert!(summary(&report).contains("Event Streams not wired yet"));
    assert!(tw.sinks().is_empty());

    // After the stack: the same command with its outputs wires Event Streams.
    let (full, out) = run(&tw, &spec(shipped_flow())).await;
    let full = full.expect("full deploy");
    assert_eq!(full.flow.change, Change::Unchanged, "{out}");
    assert_eq!(full.flow.sid, report.flow.sid);
    assert_eq!(sink(&full).change, Change::Created);
    assert_eq!(subscription(&full).change, Change::Created);
    assert!(!summary(&full).contains("not wired"));
}

#[tokio::test]
async fn a_changed_flow_is_updated_in_place() {
    let tw = fake().await;
    let first = run(&tw, &spec(shipped_flow())).await.0.expect("deploy");

    let mut changed = shipped_flow();
    changed["states"][1]["properties"]["timeout"] = json!(25);
    let mut s = spec(changed.clone());
    s.commit_message = Some("shorter ring".into());
    let (report, out) = run(&tw, &s).await;
    let report = report.expect("update");
    assert_eq!(report.flow.change, Change::Updated, "{out}");
    assert_eq!(report.flow.sid, first.flow.sid);
    assert_eq!(sink(&report).change, Change::Unchanged);
    assert_eq!(subscription(&report).change, Change::Unchanged);
    let flows = tw.flows();
    assert_eq!(flows.len(), 1, "updated, not duplicated");
    assert_eq!(flows[0].revision, 2);
    assert_eq!(flows[0].definition, changed);
    assert!(
        flows[0]
            .commit_message
            .as_deref()
            .is_some_and(|m| m.starts_with("shorter ring [escalation-admin ")),
        "{:?}",
        flows[0].commit_message
    );
    assert!(out.contains("revision 2"), "{out}");

    // And again: nothing to do.
    let (report, _) = run(&tw, &s).await;
    assert!(!report.expect("third deploy").changed());
}

#[tokio::test]
async fn a_flow_edited_in_the_console_is_put_back() {
    let tw = fake().await;
    let first = run(&tw, &spec(shipped_flow())).await.0.expect("deploy");
    // Someone edits and publishes the flow by hand (no escalation-admin tag).
    let mut edited = shipped_flow();
    edited["states"][3]["properties"]["say"] = json!("Press 1.");
    let resp = post_by_hand(
        &tw,
        &format!("/v2/Flows/{}", first.flow.sid),
        &[
            ("Status", "published"),
            ("Definition", &edited.to_string()),
            ("CommitMessage", "quick fix"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 200);

    let (report, _) = run(&tw, &spec(shipped_flow())).await;
    assert_eq!(report.expect("deploy").flow.change, Change::Updated);
    assert_eq!(tw.flows()[0].definition, shipped_flow());
}

#[tokio::test]
async fn a_validation_failure_names_the_problem_and_changes_nothing() {
    let tw = fake().await;
    let mut broken = shipped_flow();
    // gather_digit's keypress goes to a state that does not exist.
    let gather = broken["states"]
        .as_array()
        .and_then(|s| s.iter().position(|s| s["name"] == "gather_digit"))
        .expect("gather_digit");
    broken["states"][gather]["transitions"][0]["next"] = json!("route_nowhere");

    let (result, out) = run(&tw, &spec(broken.clone())).await;
    let err = result.expect_err("an invalid flow must not deploy");
    assert!(matches!(err, AdminError::InvalidFlow(_)), "{err:?}");
    assert_eq!(err.exit_code(), 1);
    let text = err.report();
    assert!(
        text.contains(&format!("#/states/{gather}/transitions/0/next")),
        "{text}"
    );
    assert!(text.contains("route_nowhere"), "{text}");
    assert!(text.contains("Invalid Flow Definition"), "{text}");
    assert!(out.is_empty(), "nothing done, nothing reported: {out}");
    assert!(tw.flows().is_empty() && tw.sinks().is_empty() && tw.subscriptions().is_empty());
    assert_eq!(
        writes(&tw),
        vec![("POST".to_owned(), "/v2/Flows/Validate".to_owned())]
    );

    // `validate` alone says the same.
    let err = escalation_admin::validate(&client(&tw, KEY_SECRET), NAME, &broken)
        .await
        .expect_err("invalid");
    assert!(err.report().contains("route_nowhere"));
}

#[tokio::test]
async fn an_existing_subscription_on_the_sink_gets_the_event_type() {
    let tw = fake().await;
    let dg = sink_by_hand(&tw, "made by hand").await;
    let started = json!({"type": "com.twilio.studio.flow.execution.started"}).to_string();
    let resp = post_by_hand(
        &tw,
        "/v1/Subscriptions",
        &[
            ("Description", "by hand"),
            ("SinkSid", &dg),
            ("Types", &started),
        ],
    )
    .await;
    assert_eq!(resp.status(), 201);

    let (report, out) = run(&tw, &spec(shipped_flow())).await;
    let report = report.expect("deploy");
    assert_eq!(sink(&report).change, Change::Unchanged, "{out}");
    assert_eq!(sink(&report).sid, dg);
    assert_eq!(subscription(&report).change, Change::Updated, "{out}");
    let subs = tw.subscriptions();
    assert_eq!(subs.len(), 1, "no second subscription on the sink");
    assert!(
        subs[0]
            .types
            .iter()
            .any(|t| t.event_type == EXECUTION_ENDED && t.schema_version == 2)
    );
}

#[tokio::test]
async fn conflicts_are_explained_not_guessed() {
    // A sink for the same stream and role with another external id.
    let tw = fake().await;
    let mut other = spec(shipped_flow());
    if let Some(events) = other.events.as_mut() {
        events.external_id = "an-older-external-id".into();
    }
    run(&tw, &other).await.0.expect("deploy with the old id");
    let (result, _) = run(&tw, &spec(shipped_flow())).await;
    let err = result.expect_err("conflict");
    let text = err.report();
    let dg = &tw.sinks()[0].sid;
    assert!(
        text.contains(dg.as_str()) && text.contains("external id"),
        "{text}"
    );
    assert_eq!(tw.sinks().len(), 1);

    // Two flows with the same friendly name.
    let tw = fake().await;
    for _ in 0..2 {
        let resp = post_by_hand(
            &tw,
            "/v2/Flows",
            &[
                ("FriendlyName", NAME),
                ("Status", "draft"),
                ("Definition", &shipped_flow().to_string()),
            ],
        )
        .await;
        assert_eq!(resp.status(), 201);
    }
    let err = run(&tw, &spec(shipped_flow()))
        .await
        .0
        .expect_err("ambiguous");
    assert!(
        err.report().contains("2 Studio flows are named"),
        "{}",
        err.report()
    );
}

#[tokio::test]
async fn a_sink_that_is_not_active_is_reported() {
    let tw = fake().await;
    let mut flow_and_sink = spec(shipped_flow());
    // First run creates the sink; then Twilio reports it as not yet active.
    run(&tw, &flow_and_sink).await.0.expect("deploy");
    let dg = tw.sinks()[0].sid.clone();
    assert!(tw.set_sink_status(&dg, "initialized"));
    // Our subscription is already there: only the warning.
    let (report, out) = run(&tw, &flow_and_sink).await;
    let report = report.expect("deploy");
    assert!(
        out.contains(&format!("warning: sink {dg} has status \"initialized\"")),
        "{out}"
    );
    assert_eq!(report.warnings.len(), 1);

    // A sink made by hand that is not active yet: Twilio refuses the subscription, and
    // the error says why.
    let tw = fake().await;
    let dg = sink_by_hand(&tw, "by hand").await;
    assert!(tw.set_sink_status(&dg, "initialized"));
    if let Some(events) = flow_and_sink.events.as_mut() {
        events.description = Some("unused: the sink exists".into());
    }
    let (result, out) = run(&tw, &flow_and_sink).await;
    let text = result.expect_err("not active").report();
    assert!(out.contains("warning: sink"), "{out}");
    assert!(
        text.contains("creating the Event Streams subscription"),
        "{text}"
    );
    assert!(text.contains("active"), "{text}");
    assert!(tw.subscriptions().is_empty());
    assert_eq!(tw.sinks().len(), 1);
}

#[tokio::test]
async fn wrong_credentials_and_twilio_errors_are_named() {
    let tw = fake().await;
    let mut out = Vec::new();
    let err = deploy(&client(&tw, "wrong"), &spec(shipped_flow()), &mut out)
        .await
        .expect_err("401");
    let text = err.report();
    assert!(text.contains("validating the flow"), "{text}");
    assert!(
        text.contains("HTTP 401") && text.contains("20003"),
        "{text}"
    );
    assert!(text.contains("TWILIO_API_KEY_SID"), "{text}");

    // A Twilio failure mid-way names the step and the Twilio error; what was done stays.
    tw.inject(escalation_fakes::FaultRule {
        method: Some("POST".into()),
        path_contains: Some("/v1/Sinks".into()),
        status: 503,
        ..escalation_fakes::FaultRule::default()
    });
    let (result, out) = run(&tw, &spec(shipped_flow())).await;
    let text = result.expect_err("503").report();
    assert!(text.contains("creating the Kinesis sink"), "{text}");
    assert!(text.contains("HTTP 503"), "{text}");
    assert!(
        out.starts_with("flow "),
        "the flow line is printed before the failure: {out}"
    );
    // The next run picks up where it stopped.
    let report = run(&tw, &spec(shipped_flow())).await.0.expect("retry");
    assert_eq!(
        (
            report.flow.change,
            sink(&report).change,
            subscription(&report).change
        ),
        (Change::Unchanged, Change::Created, Change::Created)
    );
}

#[test]
fn credentials_come_from_the_environment() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    };
    let c = Credentials::from_lookup(env(&[
        ("TWILIO_ACCOUNT_SID", ACCOUNT),
        ("TWILIO_API_KEY_SID", KEY_SID),
        ("TWILIO_API_KEY_SECRET", KEY_SECRET),
    ]))
    .expect("api key");
    assert_eq!(
        (c.username.as_str(), c.password.as_str()),
        (KEY_SID, KEY_SECRET)
    );
    let c = Credentials::from_lookup(env(&[
        ("TWILIO_ACCOUNT_SID", ACCOUNT),
        ("TWILIO_AUTH_TOKEN", "token"),
    ]))
    .expect("auth token");
    assert_eq!(c.username, ACCOUNT);
    let missing = |pairs| Credentials::from_lookup(env(pairs)).expect_err("missing");
    assert!(missing(&[]).contains("TWILIO_ACCOUNT_SID"));
    assert!(missing(&[("TWILIO_ACCOUNT_SID", ACCOUNT)]).contains("TWILIO_API_KEY_SID"));
    assert!(
        missing(&[
            ("TWILIO_ACCOUNT_SID", ACCOUNT),
            ("TWILIO_API_KEY_SID", KEY_SID)
        ])
        .contains("TWILIO_API_KEY_SECRET")
    );
    assert!(missing(&[("TWILIO_ACCOUNT_SID", "SK123")]).contains("not an account SID"));
}
