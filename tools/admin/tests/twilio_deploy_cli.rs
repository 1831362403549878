//! The `escalation-admin twilio deploy|validate` binary against the Twilio fake: a deploy
//! and its no-change rerun, and bad input explained with the right exit code.

use std::path::Path;

use serde_json::json;

#[path = "support/twilio.rs"]
mod twilio;
use escalation_fakes::TwilioHandle;
use twilio::{
    ACCOUNT, EXTERNAL_ID, KEY_SECRET, KEY_SID, NAME, ROLE, STREAM, fake, flow_path, shipped_flow,
};

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

/// `twilio validate --flow-file <file>` with an API key: the exit code and stderr.
async fn validate(tw: &TwilioHandle, file: &str) -> (i32, String) {
    let (code, _, stderr) = cli(tw, &["twilio", "validate", "--flow-file", file], true).await;
    (code, stderr)
}

/// `twilio deploy --flow-file <the shipped flow>` with `options` and an API key.
async fn deploy_shipped(tw: &TwilioHandle, options: &[&str]) -> (i32, String, String) {
    let flow_file = flow_path();
    let mut args = vec!["twilio", "deploy", "--flow-file"];
    args.push(flow_file.to_str().expect("utf-8 path"));
    args.extend_from_slice(options);
    cli(tw, &args, true).await
}

/// Write `contents` to `name` in `dir`: the file's path.
fn write(dir: &Path, name: &str, contents: &str) -> String {
    let file = dir.join(name);
    std::fs::write(&file, contents).expect("write");
    file.to_str().expect("utf-8 path").to_owned()
}

#[tokio::test]
async fn the_cli_deploys_once_then_reports_no_change() {
    let tw = fake().await;
    let args = [
        "--friendly-name",
        NAME,
        "--stream-arn",
        STREAM,
        "--role-arn",
        ROLE,
        "--external-id",
        EXTERNAL_ID,
    ];
    let (code, stdout, stderr) = deploy_shipped(&tw, &args).await;
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let flow_sid = &tw.flows()[0].sid;
    assert!(
        stdout.contains(&format!("TWILIO_FLOW_SID={flow_sid}")),
        "{stdout}"
    );
    assert_eq!(stdout.matches(" created ").count(), 3, "{stdout}");
    assert!(stdout.contains(ACCOUNT), "{stdout}");

    let (code, stdout, _) = deploy_shipped(&tw, &args).await;
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
    let (code, stderr) = validate(&tw, &write(&dir, "broken.json", &broken.to_string())).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("#/states/0/transitions/3/next"), "{stderr}");
    assert!(stderr.contains("call_nobody"), "{stderr}");

    // The Lambdas' contract is checked before Twilio is asked.
    let mut renamed = shipped_flow();
    let gather = renamed["states"]
        .as_array()
        .and_then(|s| s.iter().position(|s| s["name"] == "gather_digit"))
        .expect("the gather");
    renamed["states"][gather]["name"] = json!("ask");
    let (code, stderr) = validate(&tw, &write(&dir, "renamed.json", &renamed.to_string())).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("gather_digit"), "{stderr}");

    // Not JSON; missing file.
    let (code, stderr) = validate(&tw, &write(&dir, "garbage.json", "{ nope")).await;
    assert_eq!(code, 1);
    assert!(stderr.contains("not valid JSON"), "{stderr}");
    let (code, stderr) = validate(&tw, "/nonexistent/flow.json").await;
    assert_eq!(code, 1);
    assert!(stderr.contains("cannot read the flow file"), "{stderr}");

    // Usage errors exit 2 and name the variable or flag.
    let good = flow_path();
    let good = good.to_str().expect("utf-8");
    let (code, _, stderr) = cli(&tw, &["twilio", "validate", "--flow-file", good], false).await;
    assert_eq!(code, 2);
    assert!(stderr.contains("TWILIO_API_KEY_SID"), "{stderr}");
    let (code, _, stderr) = deploy_shipped(
        &tw,
        &[
            "--stream-arn",
            "flow-events",
            "--role-arn",
            ROLE,
            "--external-id",
            EXTERNAL_ID,
        ],
    )
    .await;
    assert_eq!(code, 2);
    assert!(stderr.contains("--stream-arn"), "{stderr}");
    // The sink options go together.
    let (code, _, stderr) = deploy_shipped(&tw, &["--stream-arn", STREAM]).await;
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--role-arn") && stderr.contains("--external-id"),
        "{stderr}"
    );
    assert!(tw.flows().is_empty() && tw.sinks().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}
