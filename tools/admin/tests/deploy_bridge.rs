//! scripts/deploy_cargo_lambda.sh (path B) wires the conference bridge and bundling as
//! template.yaml does: both off by default; when on, BRIDGE_URL (voice-inbound's URL) and
//! BUNDLE_WINDOW_SECS (with the dial queue) for the functions that place escalation calls.

use std::process::{Command, Output};

#[path = "support/repo.rs"]
mod repo;
use repo::{read, repo};

fn bash(script: &str, args: &[&str]) -> Output {
    Command::new("bash")
        .arg(repo(script))
        .args(args)
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap_or_else(|e| panic!("could not run bash {script}: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The example configuration with `extra` lines appended, run as a dry run.
fn dry_run_with(extra: &str) -> String {
    let dir = std::env::temp_dir().join(format!("deploy-bridge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let cfg = dir.join(format!("bridge-{}.env", extra.len()));
    let example = read("infra/aws/cargo-lambda.env.example");
    std::fs::write(&cfg, format!("{example}\n{extra}\n")).expect("write");
    let out = bash(
        "scripts/deploy_cargo_lambda.sh",
        &["--dry-run", "--no-build", cfg.to_str().expect("utf-8")],
    );
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    stdout
}

/// Each function's `env:` lines, as the dry run prints them.
fn env_of<'a>(stdout: &'a str, bin: &str) -> Vec<&'a str> {
    let deploy = stdout
        .lines()
        .position(|l| {
            l.starts_with("+ cargo lambda deploy") && l.contains(&format!("--binary-name {bin} "))
        })
        .unwrap_or_else(|| panic!("no deploy of {bin}"));
    let lines: Vec<&str> = stdout.lines().collect();
    lines[..deploy]
        .iter()
        .rev()
        .take_while(|l| l.starts_with("  env: "))
        .copied()
        .collect()
}

#[test]
fn the_bridge_is_off_by_default() {
    let stdout = dry_run_with("");
    assert!(
        !stdout.contains("BRIDGE_URL"),
        "the bridge is off by default:\n{stdout}"
    );
}

#[test]
fn deploy_cargo_lambda_gives_the_bridge_url_to_the_functions_that_place_calls() {
    let stdout = dry_run_with("CONFERENCE_BRIDGE=true");
    let url = "  env: BRIDGE_URL=https://<phone-escalation-voice-inbound function URL>/";
    for bin in ["escalation-dialer", "flow-events", "escalation-sweeper"] {
        assert!(env_of(&stdout, bin).contains(&url), "{bin}:\n{stdout}");
    }
    assert!(
        env_of(&stdout, "voice-inbound").contains(&"  env: CONFERENCE_BRIDGE=true"),
        "voice-inbound's put-through calls become bridges:\n{stdout}"
    );
    for bin in ["incident-trigger", "incident-updater", "voice-inbound"] {
        assert!(
            !env_of(&stdout, bin)
                .iter()
                .any(|l| l.contains("BRIDGE_URL")),
            "{bin} places no bridge calls itself:\n{stdout}"
        );
    }
    // voice-inbound's URL exists before the functions that need it are deployed.
    let created = stdout
        .find("create-function-url-config --function-name phone-escalation-voice-inbound")
        .expect("voice-inbound's URL");
    let dialer = stdout
        .find("--binary-name escalation-dialer ")
        .expect("the dialer");
    assert!(created < dialer, "{stdout}");

    // With a custom domain, that is the bridge's URL, voice-inbound's own calls included.
    let stdout =
        dry_run_with("CONFERENCE_BRIDGE=true\nPUBLIC_BASE_URL=https://esc.example.com/inbound");
    for bin in [
        "escalation-dialer",
        "flow-events",
        "escalation-sweeper",
        "voice-inbound",
    ] {
        assert!(
            env_of(&stdout, bin).contains(&"  env: BRIDGE_URL=https://esc.example.com/inbound"),
            "{bin}:\n{stdout}"
        );
    }
}

/// The example configuration with `extra` appended is refused (exit 2); its stderr.
fn refused_with(name: &str, extra: &str) -> String {
    let dir = std::env::temp_dir().join(format!("deploy-{name}-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let cfg = dir.join("bad.env");
    let example = read("infra/aws/cargo-lambda.env.example");
    std::fs::write(&cfg, format!("{example}\n{extra}\n")).expect("write");
    let out = bash(
        "scripts/deploy_cargo_lambda.sh",
        &["--dry-run", "--no-build", cfg.to_str().expect("utf-8")],
    );
    assert_eq!(out.status.code(), Some(2));
    text(&out.stderr)
}

#[test]
fn deploy_cargo_lambda_refuses_a_conference_bridge_that_is_not_true_or_false() {
    let stderr = refused_with("bridge", "CONFERENCE_BRIDGE=yes");
    assert!(
        stderr.contains("CONFERENCE_BRIDGE='yes' is not true or false"),
        "{stderr}"
    );
}

#[test]
fn deploy_cargo_lambda_gives_the_bundle_window_to_the_functions_that_place_calls() {
    assert!(
        !dry_run_with("").contains("BUNDLE_WINDOW_SECS"),
        "bundling is off by default"
    );
    let stdout = dry_run_with("BUNDLE_WINDOW_SECS=15");
    for bin in ["escalation-dialer", "flow-events", "escalation-sweeper"] {
        let env = env_of(&stdout, bin);
        assert!(
            env.contains(&"  env: BUNDLE_WINDOW_SECS=15"),
            "{bin}:\n{stdout}"
        );
        assert!(
            env.iter().any(|l| l.starts_with("  env: DIAL_QUEUE_URL=")),
            "{bin} sends a bundle's opener back on the dial queue:\n{stdout}"
        );
    }
    for bin in ["incident-trigger", "voice-inbound", "incident-updater"] {
        assert!(
            !env_of(&stdout, bin)
                .iter()
                .any(|l| l.contains("BUNDLE_WINDOW_SECS")),
            "{bin} places no bundled calls:\n{stdout}"
        );
    }
}

#[test]
fn deploy_cargo_lambda_refuses_a_bundle_window_over_five_minutes() {
    let stderr = refused_with("bundle", "BUNDLE_WINDOW_SECS=900");
    assert!(
        stderr.contains("BUNDLE_WINDOW_SECS='900' is not a number of seconds, 0 to 300"),
        "{stderr}"
    );
}
