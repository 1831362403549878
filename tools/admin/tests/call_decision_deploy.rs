//! call-decision as both deployment paths give it: in template.yaml a public function URL
//! (the capability token is the authentication) with only the permissions its code uses,
//! on unless LiveDecisions is "false", and its URL handed to every function that places
//! calls as DECISION_URL; scripts/deploy_cargo_lambda.sh deploys it first and wires the
//! same, or leaves it out with LIVE_DECISIONS=false.

use std::collections::HashMap;
use std::process::Command;

use escalation_lambda::config::{EngineConfig, dial_queue_url};

#[allow(dead_code)] // the sizing helpers are deploy_config's
#[path = "support/lambda_deploy.rs"]
mod lambda_deploy;
#[path = "support/repo.rs"]
mod repo;
use repo::{read, repo};

/// The resource `name` of template.yaml (up to the next resource).
fn resource(template: &str, name: &str) -> String {
    lambda_deploy::globals_and_resource(template, &format!("\n  {name}:\n"))
        .1
        .to_owned()
}

/// `NAME: value` lines of a function's `Variables:` block, values as written.
fn variables(function: &str) -> HashMap<String, String> {
    let (_, vars) = function.split_once("Variables:").expect("variables");
    vars.lines()
        .skip(1)
        .take_while(|l| l.starts_with("          "))
        .filter_map(|l| l.trim().split_once(": "))
        .map(|(k, v)| (k.to_owned(), v.split(" #").next().unwrap_or(v).to_owned()))
        .collect()
}

#[test]
fn the_template_deploys_call_decision_least_privileged_and_wires_its_url() {
    let template = read("template.yaml");
    let f = resource(&template, "CallDecisionFunction");
    assert!(f.contains("Condition: DecidesLive"), "{f}");
    assert!(f.contains("Binary: call-decision"), "{f}");
    assert!(f.contains("AuthType: NONE"), "a public URL: {f}");
    let parameter = resource(&template, "LiveDecisions");
    assert!(parameter.contains("Default: \"true\""), "{parameter}");
    assert!(template.contains("DecidesLive: !Equals [!Ref LiveDecisions, \"true\"]"));

    // Its permissions: the escalation items, the two queues it sends to, the secret.
    let (_, policies) = f.split_once("Policies:").expect("policies");
    let actions: Vec<&str> = policies
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Action: "))
        .collect();
    assert_eq!(
        actions,
        [
            "[dynamodb:GetItem, dynamodb:PutItem]",
            "sqs:SendMessage",
            "sqs:SendMessage",
            "secretsmanager:GetSecretValue"
        ]
    );
    let resources: Vec<&str> = policies
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Resource: "))
        .collect();
    assert_eq!(
        resources,
        [
            "!GetAtt EscalationsTable.Arn",
            "!GetAtt SnUpdatesQueue.Arn",
            "!GetAtt DialQueue.Arn",
            "!Ref AppSecret"
        ]
    );

    // What it is given is what it needs to start.
    let mut env: HashMap<String, String> = variables(&f)
        .into_keys()
        .map(|k| (k, String::new()))
        .collect();
    for (k, v) in [
        ("TWILIO_FLOW_SID", "FW00000000000000000000000000000000"),
        ("TWILIO_FROM_NUMBER", "+15017122661"),
        (
            "SN_UPDATES_QUEUE_URL",
            "https://sqs.eu-west-1.amazonaws.com/1/q.fifo",
        ),
        (
            "DIAL_QUEUE_URL",
            "https://sqs.eu-west-1.amazonaws.com/1/dials",
        ),
        ("ESCALATIONS_TABLE", "t"),
        ("SECRETS_ARN", "arn"),
    ] {
        assert!(env.contains_key(k), "call-decision needs {k}");
        env.insert(k.into(), v.into());
    }
    EngineConfig::from_map(&env).expect("call-decision's engine configuration");
    dial_queue_url(&env).expect("its dial queue");

    // Every function that places calls reports keys to it when it exists.
    let wired = "!If [DecidesLive, !GetAtt CallDecisionFunctionUrl.FunctionUrl, \"\"]";
    for placing in [
        "EscalationDialerFunction",
        "FlowEventsFunction",
        "EscalationSweeperFunction",
        "VoiceInboundFunction",
    ] {
        let vars = variables(&resource(&template, placing));
        assert_eq!(
            vars.get("DECISION_URL").map(String::as_str),
            Some(wired),
            "{placing}"
        );
    }
    assert_eq!(template.matches("DECISION_URL:").count(), 4);
    let output = resource(&template, "CallDecisionUrl");
    assert!(output.contains("Condition: DecidesLive"), "{output}");
}

fn dry_run(extra: &str) -> String {
    let dir = std::env::temp_dir().join(format!("call-decision-deploy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join(format!("deploy{}.env", extra.len()));
    let example = read("infra/aws/cargo-lambda.env.example");
    std::fs::write(&config, format!("{example}\n{extra}\n")).unwrap();
    let out = Command::new("bash")
        .arg(repo("scripts/deploy_cargo_lambda.sh"))
        .args(["--dry-run", "--no-build"])
        .arg(&config)
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The functions a dry run gives DECISION_URL (its env lines come before each deploy).
fn told_the_url(stdout: &str) -> Vec<String> {
    let mut told = Vec::new();
    let mut pending = false;
    for line in stdout.lines() {
        pending |= line.contains("env: DECISION_URL=");
        if let Some(rest) = line.split("--binary-name ").nth(1) {
            if pending {
                told.push(rest.split(' ').next().unwrap_or_default().to_owned());
            }
            pending = false;
        }
    }
    told
}

#[test]
fn path_b_deploys_call_decision_first_and_can_leave_it_out() {
    let on = dry_run("");
    let first = on
        .lines()
        .find(|l| l.starts_with("+ cargo lambda deploy"))
        .expect("a deploy");
    assert!(first.contains("--binary-name call-decision "), "{first}");
    let mut told = told_the_url(&on);
    told.sort();
    assert_eq!(
        told,
        [
            "escalation-dialer",
            "escalation-sweeper",
            "flow-events",
            "voice-inbound"
        ]
    );

    let off = dry_run("LIVE_DECISIONS=false");
    assert!(!off.contains("call-decision"), "{off}");
    assert!(!off.contains("DECISION_URL"), "{off}");

    let out = Command::new("bash")
        .arg(repo("scripts/deploy_cargo_lambda.sh"))
        .args(["--dry-run", "--no-build"])
        .arg({
            let p = std::env::temp_dir().join(format!("bad-live-{}.env", std::process::id()));
            let example = read("infra/aws/cargo-lambda.env.example");
            std::fs::write(&p, format!("{example}\nLIVE_DECISIONS=maybe\n")).unwrap();
            p
        })
        .output()
        .expect("bash runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("LIVE_DECISIONS='maybe' is not true or false"),
        "{stderr}"
    );
}
