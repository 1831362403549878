//! The deployment artefacts agree with the code: template.yaml gives the functions every
//! variable the Lambdas require and a secret with every field they read; the path-B config
//! example is complete; scripts/deploy_cargo_lambda.sh wires what the template wires; and the
//! shell scripts refuse bad input with a message that names it.

use std::collections::HashMap;
use std::process::{Command, Output};

use escalation_lambda::config::{EngineConfig, UpdaterConfig};

#[path = "support/lambda_deploy.rs"]
mod lambda_deploy;
#[path = "support/repo.rs"]
mod repo;
use repo::{read, repo};

/// KEY=VALUE lines of the path-B example configuration.
fn example_env() -> HashMap<String, String> {
    read("infra/aws/cargo-lambda.env.example")
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// Upper-case variable names in the `Variables:` block that starts in `section`.
fn variables(section: &str) -> Vec<String> {
    let Some((_, vars)) = section.split_once("Variables:") else {
        return Vec::new();
    };
    vars.lines()
        .skip(1)
        .map_while(|l| {
            let (name, _) = l.trim().split_once(':')?;
            (!name.is_empty() && name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
                .then(|| name.to_owned())
        })
        .collect()
}

/// The environment template.yaml gives one function: Globals plus its own variables, with
/// plausible values (the path-B example's where it has one).
fn template_env(function: &str) -> HashMap<String, String> {
    let template = read("template.yaml");
    let (globals, own) =
        lambda_deploy::globals_and_resource(&template, &format!("\n  {function}:\n"));
    let example = example_env();
    variables(globals)
        .into_iter()
        .chain(variables(own))
        .map(|n| {
            let value = example
                .get(&n)
                .cloned()
                .unwrap_or_else(|| match n.as_str() {
                    "ESCALATE_PRIORITIES" => "1,2".into(),
                    "RUST_LOG" => "info".into(),
                    "FALLBACK_GROUP" | "PUBLIC_BASE_URL" | "SERVICENOW_ONCALL_PATH" => {
                        String::new()
                    }
                    "SERVICENOW_ONCALL_BUDGET_MS" => "2000".into(),
                    "BRIDGE_URL" | "DECISION_URL" => {
                        "https://abc123.lambda-url.us-east-1.on.aws/".into()
                    }
                    _ => "1".into(),
                });
            (n, value)
        })
        .collect()
}

#[test]
fn the_template_gives_each_function_exactly_the_variables_it_reads() {
    let engine_functions = [
        "IncidentTriggerFunction",
        "EscalationDialerFunction",
        "FlowEventsFunction",
        "EscalationSweeperFunction",
        "VoiceInboundFunction",
        "CallDecisionFunction",
    ];
    for function in engine_functions {
        let env = template_env(function);
        if let Err(e) = EngineConfig::from_map(&env) {
            panic!("template.yaml's {function} misses something it needs: {e}");
        }
        assert!(
            !env.contains_key("SERVICENOW_INSTANCE_URL")
                || ["VoiceInboundFunction", "IncidentTriggerFunction"].contains(&function),
            "{function} never talks to ServiceNow"
        );
    }
    // The trigger asks ServiceNow On-Call first once ServiceNowOnCallPath is set.
    let mut trigger = template_env("IncidentTriggerFunction");
    trigger.insert(
        "SERVICENOW_ONCALL_PATH".into(),
        "/api/x_escalation/phone_escalation/oncall".into(),
    );
    let oncall = EngineConfig::from_map(&trigger)
        .expect("the trigger with On-Call on")
        .oncall
        .expect("On-Call configured");
    assert_eq!(oncall.budget_ms, 2000);
    let updater = template_env("IncidentUpdaterFunction");
    if let Err(e) = UpdaterConfig::from_map(&updater) {
        panic!("template.yaml's IncidentUpdaterFunction misses something it needs: {e}");
    }
    for twilio in [
        "TWILIO_FLOW_SID",
        "TWILIO_FROM_NUMBER",
        "SN_UPDATES_QUEUE_URL",
    ] {
        assert!(
            !updater.contains_key(twilio),
            "the updater never uses {twilio}"
        );
    }
    assert!(template_env("VoiceInboundFunction").contains_key("SERVICENOW_INSTANCE_URL"));
    // The tunables of a new escalation go where escalations start.
    for function in ["IncidentTriggerFunction", "VoiceInboundFunction"] {
        assert!(
            template_env(function).contains_key("ESCALATE_PRIORITIES"),
            "{function}"
        );
    }
    // Every function that places calls offers the bridge alike (or none does).
    for function in [
        "EscalationDialerFunction",
        "FlowEventsFunction",
        "EscalationSweeperFunction",
    ] {
        assert!(
            template_env(function).contains_key("BRIDGE_URL"),
            "{function}"
        );
    }
    let sweeper = template_env("EscalationSweeperFunction");
    assert!(sweeper.contains_key("SWEEP_GRACE_SECS"));
    // The trigger queues first calls; the functions that place calls bundle them alike
    // (the bundle's opener comes back on the dial queue); voice-inbound places its own
    // first calls alone.
    let trigger = template_env("IncidentTriggerFunction");
    escalation_lambda::config::dial_queue_url(&trigger).expect("the trigger's DIAL_QUEUE_URL");
    for function in [
        "EscalationDialerFunction",
        "FlowEventsFunction",
        "EscalationSweeperFunction",
    ] {
        let env = template_env(function);
        let config = EngineConfig::from_map(&env).expect("engine config");
        assert!(
            config.dial_queue_url.is_some() && env.contains_key("BUNDLE_WINDOW_SECS"),
            "{function} bundles"
        );
    }
    assert!(!template_env("VoiceInboundFunction").contains_key("BUNDLE_WINDOW_SECS"));
    let template = read("template.yaml");
    assert!(template.contains("Schedule: rate(1 minute)"));
}

/// The canary reads the engine's configuration, the dial queue (its first call goes where
/// the trigger's does), its test number and bound; it is off unless CanaryNumber is set, and
/// may not write to the ServiceNow update queue.
#[test]
fn the_canary_is_off_by_default_configured_completely_and_kept_from_servicenow() {
    let mut env = template_env("CanaryFunction");
    env.insert("CANARY_NUMBER".into(), "+15550108888".into());
    env.insert("CANARY_TIMEOUT_SECS".into(), "180".into());
    EngineConfig::from_map(&env).expect("the canary's engine configuration");
    escalation_lambda::config::dial_queue_url(&env).expect("the canary's DIAL_QUEUE_URL");
    escalation_lambda::config::CanaryConfig::from_map(&env).expect("the canary's own variables");
    assert!(!env.contains_key("SERVICENOW_INSTANCE_URL"));
    let template = read("template.yaml");
    let (_, canary) = lambda_deploy::globals_and_resource(&template, "\n  CanaryFunction:\n");
    assert!(canary.contains("Condition: RunsCanary"), "{canary}");
    assert!(canary.contains("Schedule: !Ref CanarySchedule"), "{canary}");
    assert!(
        !canary.contains("SnUpdatesQueue.Arn"),
        "the canary has no right to queue ServiceNow updates: {canary}"
    );
    assert!(template.contains("RunsCanary: !Not [!Equals [!Ref CanaryNumber, \"\"]]"));
    let (_, number) = template
        .split_once("\n  CanaryNumber:\n")
        .expect("a CanaryNumber parameter");
    assert!(
        number
            .split("\n  Canary")
            .next()
            .unwrap()
            .contains("Default: \"\""),
        "off by default"
    );
}

#[test]
fn the_path_b_example_configures_the_lambdas_completely() {
    if let Err(e) = EngineConfig::from_map(&example_env()) {
        panic!("infra/aws/cargo-lambda.env.example is incomplete: {e}");
    }
    if let Err(e) = UpdaterConfig::from_map(&example_env()) {
        panic!("infra/aws/cargo-lambda.env.example is incomplete for incident-updater: {e}");
    }
}

#[test]
fn the_templates_secret_has_every_field_the_lambdas_read() {
    let template = read("template.yaml");
    let (_, after) = template
        .split_once("SecretString: >-")
        .expect("AppSecret SecretString");
    // A folded scalar: the more-indented lines joined with spaces.
    let json: String = after
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("        "))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    let filled = json.replacen(
        r#""trigger_hmac_key":"FILL_ME""#,
        r#""trigger_hmac_key":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=""#,
        1,
    );
    assert_ne!(
        filled, json,
        "trigger_hmac_key placeholder not found in {json}"
    );
    let secret: serde_json::Value =
        serde_json::from_str(&filled).expect("the template's secret is JSON");
    for field in [
        "twilio_account_sid",
        "twilio_api_key_sid",
        "twilio_api_key_secret",
        "servicenow_username",
        "servicenow_password",
        "trigger_hmac_key",
        "twilio_auth_token",
    ] {
        assert!(
            secret.get(field).is_some_and(serde_json::Value::is_string),
            "the template's secret placeholder lacks {field}, which the Lambdas read: {json}"
        );
    }
    let secrets = escalation_adapters::secrets::Secrets::parse("template", &filled)
        .expect("the template's secret parses");
    assert!(secrets.signing_key().is_ok());
    // Optional and empty: the OAuth client; the functions then want the user and password.
    for field in ["servicenow_client_id", "servicenow_client_secret"] {
        assert_eq!(secret[field], "", "{field} is optional: {json}");
    }
    let e = escalation_adapters::servicenow::Credentials::from_secrets(&secrets).unwrap_err();
    assert!(e.problem.contains("servicenow_username"), "{e}");
}

// ---- scripts --------------------------------------------------------------------------------

fn bash(script: &str, args: &[&str]) -> Output {
    Command::new("bash")
        .arg(repo(script))
        .args(args)
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap_or_else(|e| panic!("could not run bash {script}: {e}"))
}

/// The functions' binaries (and packages).
const FUNCTIONS: [&str; 7] = [
    "incident-trigger",
    "escalation-dialer",
    "flow-events",
    "incident-updater",
    "escalation-sweeper",
    "voice-inbound",
    "call-decision",
];

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn deploy_cargo_lambda_dry_run_wires_what_the_template_wires() {
    let example = repo("infra/aws/cargo-lambda.env.example");
    let out = bash(
        "scripts/deploy_cargo_lambda.sh",
        &[
            "--dry-run",
            "--no-build",
            example.to_str().expect("utf-8 path"),
        ],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    for bin in FUNCTIONS {
        let line = stdout
            .lines()
            .find(|l| {
                l.starts_with("+ cargo lambda deploy")
                    && l.contains(&format!("--binary-name {bin} "))
            })
            .unwrap_or_else(|| panic!("no cargo lambda deploy for {bin}:\n{stdout}"));
        assert!(
            line.ends_with(&format!(" phone-escalation-{bin}")),
            "{line}"
        );
        assert!(line.contains("--runtime provided.al2023"), "{line}");
        assert!(
            line.contains("--role arn:aws:iam::123456789012:role/phone-escalation-lambda"),
            "{line}"
        );
        assert!(line.contains("--log-retention 30"), "{line}");
        // Memory, timeout and description come from the function's Cargo.toml, which
        // cargo-lambda finds through the workspace manifest.
        for flag in ["--memory", "--timeout", "--description"] {
            assert!(
                !line.contains(flag),
                "{flag} is in the metadata now: {line}"
            );
        }
        let manifest = std::fs::canonicalize(repo("Cargo.toml")).expect("the workspace manifest");
        assert!(
            line.contains(&format!("--manifest-path {} ", manifest.display())),
            "{line}"
        );
    }
    let template = read("template.yaml");
    let metadata = lambda_deploy::cargo_deploy_metadata(&repo("Cargo.toml"));
    for bin in FUNCTIONS {
        let deploy = metadata
            .iter()
            .find(|(package, _)| package == bin)
            .map(|(_, d)| d)
            .unwrap_or_else(|| panic!("functions/{bin}/Cargo.toml has no lambda deploy metadata"));
        assert_eq!(
            lambda_deploy::metadata_sizing(deploy),
            lambda_deploy::template_sizing(&template, bin),
            "{bin}: cargo lambda deploy and template.yaml size it alike"
        );
    }
    let timeouts = FUNCTIONS.map(|bin| lambda_deploy::template_sizing(&template, bin).timeout);
    assert_eq!(timeouts, [30, 45, 30, 30, 55, 20, 8]);
    let kinesis = stdout
        .lines()
        .find(|l| l.contains("create-event-source-mapping") && l.contains(":kinesis:"))
        .unwrap_or_else(|| panic!("no Kinesis mapping:\n{stdout}"));
    for setting in [
        "--function-name phone-escalation-flow-events",
        "--starting-position TRIM_HORIZON",
        "--function-response-types ReportBatchItemFailures",
        "--bisect-batch-on-function-error",
        "--maximum-retry-attempts 10",
        "phone-escalation-flow-events-failures",
    ] {
        assert!(kinesis.contains(setting), "{setting} missing in {kinesis}");
    }
    let sqs = stdout
        .lines()
        .find(|l| l.contains("create-event-source-mapping") && l.contains(".fifo"))
        .unwrap_or_else(|| panic!("no SQS mapping:\n{stdout}"));
    assert!(
        sqs.contains("--function-name phone-escalation-incident-updater"),
        "{sqs}"
    );
    assert!(
        sqs.contains("--function-response-types ReportBatchItemFailures"),
        "{sqs}"
    );
    let dials = stdout
        .lines()
        .find(|l| l.contains("mapping") && l.contains("-dials "));
    let dialer = "--function-name phone-escalation-escalation-dialer --event-source-arn";
    assert!(dials.is_some_and(|d| d.contains(dialer)
        && d.ends_with("--function-response-types ReportBatchItemFailures --scaling-config MaximumConcurrency=5")),
        "the dial queue's mapping:\n{stdout}");
    // The trigger and call-decision queue calls; the dialer, flow-events and the sweeper
    // send a bundle's opener back (as the template wires them).
    assert_eq!(stdout.matches("env: DIAL_QUEUE_URL=").count(), 5);
    for public in ["incident-trigger", "voice-inbound", "call-decision"] {
        assert!(
            stdout.contains(&format!(
                "create-function-url-config --function-name phone-escalation-{public} --auth-type NONE"
            )),
            "{public} gets a public function URL:\n{stdout}"
        );
        for permission in [
            "--action lambda:InvokeFunctionUrl",
            "--invoked-via-function-url",
        ] {
            assert!(
                stdout.lines().any(|l| l.contains("add-permission")
                    && l.contains(&format!("phone-escalation-{public} "))
                    && l.contains(permission)),
                "{public}: {permission}\n{stdout}"
            );
        }
    }
    assert!(
        stdout.contains(r"--schedule-expression rate\(1\ minute\)"),
        "{stdout}"
    );
    assert!(stdout.contains("put-targets --rule phone-escalation-escalation-sweeper"));
    // Only the sweeper gets SWEEP_GRACE_SECS; every function gets the required variables.
    assert_eq!(
        stdout.matches("env: SWEEP_GRACE_SECS=").count(),
        1,
        "{stdout}"
    );
    assert_eq!(
        stdout.matches("env: TWILIO_FLOW_SID=").count(),
        7,
        "{stdout}"
    );
    assert!(stderr.contains("dry run: nothing was changed"), "{stderr}");
}

#[test]
fn deploy_cargo_lambda_names_every_configuration_problem() {
    let dir = std::env::temp_dir().join(format!("deploy-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let cfg = dir.join("bad.env");
    std::fs::write(
        &cfg,
        "AWS_REGION=eu-west-1\nFUNCTION_PREFIX=pe\nTWILIO_FLOW_SID=FW123\nSN_UPDATES_QUEUE_ARN=arn:aws:sqs:eu-west-1:123456789012:plain\n",
    )
    .expect("write");
    let out = bash(
        "scripts/deploy_cargo_lambda.sh",
        &["--dry-run", cfg.to_str().expect("utf-8")],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for expected in [
        "LAMBDA_ROLE_ARN is missing",
        "TWILIO_FLOW_SID='FW123' is not a Studio flow SID",
        "SN_UPDATES_QUEUE_ARN='arn:aws:sqs:eu-west-1:123456789012:plain' is not a FIFO SQS queue ARN",
        "SECRETS_ARN is missing",
    ] {
        assert!(stderr.contains(expected), "{expected:?} not in:\n{stderr}");
    }
    std::fs::write(&cfg, "not a setting\n").expect("write");
    let out = bash(
        "scripts/deploy_cargo_lambda.sh",
        &["--dry-run", cfg.to_str().expect("utf-8")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("bad.env:1: expected KEY=VALUE"));
    let out = bash("scripts/deploy_cargo_lambda.sh", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("missing CONFIG_FILE"));
    let out = bash(
        "scripts/deploy_cargo_lambda.sh",
        &["/nonexistent/deploy.env"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read CONFIG_FILE"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_other_scripts_refuse_bad_input_clearly() {
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "scripts/build_arm64.sh",
            &["not-a-lambda"],
            "unknown binary 'not-a-lambda'",
        ),
        (
            "scripts/build_arm64.sh",
            &["--fast"],
            "unknown option --fast",
        ),
        (
            "scripts/create_kinesis_stream.sh",
            &[],
            "usage: create_kinesis_stream.sh STREAM_NAME",
        ),
        (
            "scripts/create_kinesis_stream.sh",
            &["bad name!"],
            "invalid STREAM_NAME 'bad name!'",
        ),
        (
            "scripts/create_kinesis_stream.sh",
            &["events", "0"],
            "SHARDS must be a positive integer",
        ),
        (
            "scripts/cat_kinesis.sh",
            &[],
            "usage: cat_kinesis.sh STREAM_NAME",
        ),
        (
            "scripts/cat_kinesis.sh",
            &["a/b"],
            "invalid STREAM_NAME 'a/b'",
        ),
    ];
    for (script, args, expected) in cases {
        let out = bash(script, args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{script} {args:?}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{script} {args:?}: {expected:?} not in {stderr}"
        );
    }
}
