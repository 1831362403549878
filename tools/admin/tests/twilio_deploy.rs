//! `escalation-admin twilio deploy|validate` against the Twilio fake: the library and the
//! binary, first run, second (no-change) run, updates, validation failures and conflicts.

use std::path::PathBuf;

use escalation_admin::deploy::{EXECUTION_ENDED, summary};
use escalation_admin::{
    AdminError, Change, Credentials, DeployReport, DeploySpec, Outcome, SinkSpec, Twilio, deploy,
    flow,
};
use escalation_fakes::{SubscribedEventRecord, TwilioFake, TwilioFakeConfig, TwilioHandle};
use serde_json::{Value, json};

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const KEY_SID: &str = "SK0123456789abcdef0123456789abcdef";
const KEY_SECRET: &str = "api-secret";
const STREAM: &str = "arn:aws:kinesis:eu-west-1:111111111111:stream/esc-FlowEventsStream-AbC";
const ROLE: &str = "arn:aws:iam::111111111111:role/esc-TwilioEventStreamsRole-XyZ";
const EXTERNAL_ID: &str = "5f0c8a1e9b7d4c3a2f1e0d9c8b7a6f5e4d3c2b1a";
const NAME: &str = "ServiceNow phone escalation";

fn flow_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/twilio/escalation-flow.json")
}

async fn fake() -> TwilioHandle {
    TwilioFake::start(TwilioFakeConfig {
        account_sid: ACCOUNT.into(),
        username: KEY_SID.into(),
        password: KEY_SECRET.into(),
        ..TwilioFakeConfig::default()
    })
    .await
}

fn client(tw: &TwilioHandle, password: &str) -> Twilio {
    let creds = Credentials {
        account_sid: ACCOUNT.into(),
        username: KEY_SID.into(),
        password: password.into(),
    };
    Twilio::new(creds, &tw.base_url(), &tw.base_url())
}

fn spec(definition: Value) -> DeploySpec {
    DeploySpec {
        definition,
        friendly_name: NAME.into(),
        commit_message: None,
        events: Some(SinkSpec {
            stream_arn: STREAM.into(),
            role_arn: ROLE.into(),
            external_id: EXTERNAL_ID.into(),
            description: None,
        }),
    }
}

fn sink(r: &DeployReport) -> &Outcome {
    r.sink.as_ref().expect("a sink outcome")
}

fn subscription(r: &DeployReport) -> &Outcome {
    r.subscription.as_ref().expect("a subscription outcome")
}

fn shipped_flow() -> Value {
    flow::load(&flow_path()).expect("the shipped flow loads and keeps the contract")
}

async fn run(
    tw: &TwilioHandle,
    spec: &DeploySpec,
) -> (Result<escalation_admin::DeployReport, AdminError>, String) {
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
    let resp = reqwest::Client::new()
        .post(format!("{}/v2/Flows/{}", tw.base_url(), first.flow.sid))
        .basic_auth(KEY_SID, Some(KEY_SECRET))
        .form(&[
            ("Status", "published".to_owned()),
            ("Definition", edited.to_string()),
            ("CommitMessage", "quick fix".to_owned()),
        ])
        .send()
        .await
        .expect("request");
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
    let http = reqwest::Client::new();
    let post = |path: &str, form: Vec<(&'static str, String)>| {
        http.post(format!("{}{path}", tw.base_url()))
            .basic_auth(KEY_SID, Some(KEY_SECRET))
            .form(&form)
            .send()
    };
    let config = json!({"arn": STREAM, "role_arn": ROLE, "external_id": EXTERNAL_ID}).to_string();
    let made_by_hand: Value = post(
        "/v1/Sinks",
        vec![
            ("Description", "made by hand".into()),
            ("SinkType", "kinesis".into()),
            ("SinkConfiguration", config),
        ],
    )
    .await
    .expect("request")
    .json()
    .await
    .expect("json");
    let dg = made_by_hand["sid"].as_str().expect("sid").to_owned();
    let started = json!({"type": "com.twilio.studio.flow.execution.started"}).to_string();
    let resp = post(
        "/v1/Subscriptions",
        vec![
            ("Description", "by hand".into()),
            ("SinkSid", dg.clone()),
            ("Types", started),
        ],
    )
    .await
    .expect("request");
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
        let resp = reqwest::Client::new()
            .post(format!("{}/v2/Flows", tw.base_url()))
            .basic_auth(KEY_SID, Some(KEY_SECRET))
            .form(&[
                ("FriendlyName", NAME.to_owned()),
                ("Status", "draft".to_owned()),
                ("Definition", shipped_flow().to_string()),
            ])
            .send()
            .await
            .expect("request");
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
    let config = json!({"arn": STREAM, "role_arn": ROLE, "external_id": EXTERNAL_ID}).to_string();
    let made: Value = reqwest::Client::new()
        .post(format!("{}/v1/Sinks", tw.base_url()))
        .basic_auth(KEY_SID, Some(KEY_SECRET))
        .form(&[
            ("Description", "by hand"),
            ("SinkType", "kinesis"),
            ("SinkConfiguration", config.as_str()),
        ])
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let dg = made["sid"].as_str().expect("sid").to_owned();
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

// ---- the binary ------------------------------------------------------------------------

async fn cli(tw: &TwilioHandle, args: &[&str], with_key: bool) -> (i32, String, String) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_escalation-admin"));
    cmd.args(args)
        .env_clear()
        .env("TWILIO_ACCOUNT_SID", ACCOUNT)
        .env("TWILIO_STUDIO_BASE_URL", tw.base_url())
        .env("TWILIO_EVENTS_BASE_URL", tw.base_url());
    if with_key {
        cmd.env("TWILIO_API_KEY_SID", KEY_SID)
            .env("TWILIO_API_KEY_SECRET", KEY_SECRET);
    }
    let out = cmd.output().await.expect("run escalation-admin");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_cli_deploys_once_then_reports_no_change() {
    let tw = fake().await;
    let flow_file = flow_path();
    let flow_file = flow_file.to_str().expect("utf-8 path");
    let args = [
        "twilio",
        "deploy",
        "--flow-file",
        flow_file,
        "--friendly-name",
        NAME,
        "--stream-arn",
        STREAM,
        "--role-arn",
        ROLE,
        "--external-id",
        EXTERNAL_ID,
    ];
    let (code, stdout, stderr) = cli(&tw, &args, true).await;
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let flow_sid = &tw.flows()[0].sid;
    assert!(
        stdout.contains(&format!("TWILIO_FLOW_SID={flow_sid}")),
        "{stdout}"
    );
    assert_eq!(stdout.matches(" created ").count(), 3, "{stdout}");
    assert!(stdout.contains(ACCOUNT), "{stdout}");

    let (code, stdout, _) = cli(&tw, &args, true).await;
    assert_eq!(code, 0);
    assert!(stdout.contains("Nothing changed"), "{stdout}");
    assert_eq!(stdout.matches(" unchanged ").count(), 3, "{stdout}");
    assert!(
        stdout.contains(&format!("TWILIO_FLOW_SID={flow_sid}")),
        "{stdout}"
    );
    assert_eq!(tw.flows().len(), 1);
}

#[tokio::test]
async fn the_cli_explains_bad_input() {
    let tw = fake().await;
    let dir = std::env::temp_dir().join(format!("escalation-admin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");

    // Twilio's validation errors, with their paths, exit 1.
    let mut broken = shipped_flow();
    broken["states"][0]["transitions"][3]["next"] = json!("call_nobody");
    let broken_file = dir.join("broken.json");
    std::fs::write(&broken_file, broken.to_string()).expect("write");
    let broken_file = broken_file.to_str().expect("utf-8");
    let (code, _, stderr) = cli(
        &tw,
        &["twilio", "validate", "--flow-file", broken_file],
        true,
    )
    .await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("#/states/0/transitions/3/next"), "{stderr}");
    assert!(stderr.contains("call_nobody"), "{stderr}");

    // The Lambdas' contract is checked before Twilio is asked.
    let mut renamed = shipped_flow();
    renamed["states"][3]["name"] = json!("ask");
    let renamed_file = dir.join("renamed.json");
    std::fs::write(&renamed_file, renamed.to_string()).expect("write");
    let (code, _, stderr) = cli(
        &tw,
        &[
            "twilio",
            "validate",
            "--flow-file",
            renamed_file.to_str().expect("utf-8"),
        ],
        true,
    )
    .await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("gather_digit"), "{stderr}");

    // Not JSON; missing file.
    let garbage = dir.join("garbage.json");
    std::fs::write(&garbage, "{ nope").expect("write");
    let (code, _, stderr) = cli(
        &tw,
        &[
            "twilio",
            "validate",
            "--flow-file",
            garbage.to_str().expect("utf-8"),
        ],
        true,
    )
    .await;
    assert_eq!(code, 1);
    assert!(stderr.contains("not valid JSON"), "{stderr}");
    let (code, _, stderr) = cli(
        &tw,
        &[
            "twilio",
            "validate",
            "--flow-file",
            "/nonexistent/flow.json",
        ],
        true,
    )
    .await;
    assert_eq!(code, 1);
    assert!(stderr.contains("cannot read the flow file"), "{stderr}");

    // Usage errors exit 2 and name the variable or flag.
    let good = flow_path();
    let good = good.to_str().expect("utf-8");
    let (code, _, stderr) = cli(&tw, &["twilio", "validate", "--flow-file", good], false).await;
    assert_eq!(code, 2);
    assert!(stderr.contains("TWILIO_API_KEY_SID"), "{stderr}");
    let (code, _, stderr) = cli(
        &tw,
        &[
            "twilio",
            "deploy",
            "--flow-file",
            good,
            "--stream-arn",
            "flow-events",
            "--role-arn",
            ROLE,
            "--external-id",
            EXTERNAL_ID,
        ],
        true,
    )
    .await;
    assert_eq!(code, 2);
    assert!(stderr.contains("--stream-arn"), "{stderr}");
    // The sink options go together.
    let (code, _, stderr) = cli(
        &tw,
        &[
            "twilio",
            "deploy",
            "--flow-file",
            good,
            "--stream-arn",
            STREAM,
        ],
        true,
    )
    .await;
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--role-arn") && stderr.contains("--external-id"),
        "{stderr}"
    );
    assert!(tw.flows().is_empty() && tw.sinks().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}
