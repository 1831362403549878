//! Plays a named scenario end to end on this machine and prints a timeline per incident and
//! a summary (`--json`: the same as JSON lines). Exit 1 if the outcome is not the one the
//! scenario promises, 130 on Ctrl-C (after stopping everything it started).
//!
//! By default the real Lambda binaries run under `cargo lambda watch` (the Lambda runtime
//! emulator) against moto server and the ServiceNow and Twilio fakes; `--in-process` calls
//! the same handlers as functions in this process instead (quicker, no cargo-lambda).
//! `--html FILE` also writes the timeline as one self-contained HTML page (swim lanes per
//! person and for ServiceNow). `plan` is the dry run: who would be called, in what order;
//! no calls, no writes.

use escalation_devtools::inbound_support::{InboundStack, test_config};
use escalation_devtools::local::{LocalOptions, LocalStack, find_cargo_lambda};
use escalation_devtools::play::play;
use escalation_devtools::scenario::{self, Scenario};
use escalation_devtools::stack::StackOptions;
use escalation_devtools::timeline::{RunSummary, Timeline, html};
use std::path::PathBuf;
use std::time::Duration;

const DEFAULT_SCENARIO: &str = "pass-then-accept";

fn usage() -> String {
    format!(
        "usage: demo [SCENARIO] [--json] [--in-process] [--html FILE] [--port PORT] [--timeout SECS]
           run a scenario: the real Lambda binaries under `cargo lambda watch` (needs
           cargo-lambda on PATH and MOTO_ENDPOINT; scripts/demo.sh sets both up), or with
           --in-process the same handlers called in this process (needs MOTO_ENDPOINT);
           --html FILE also writes the timeline as one self-contained HTML page
       demo plan [--group NAME] [--at 2026-12-01T03:00Z] [--policies FILE] [--number INC0010001] [--priority 1] [--json]
           dry run: who would be called, in what order, with which timeouts and rounds
           (honours ROSTER_PATH, MAX_REDIALS, ROUNDS, RING_TIMEOUT_SECS, ESCALATE_PRIORITIES)
scenarios (scripts/scenarios/): {} (default {DEFAULT_SCENARIO})",
        scenario::names().join(", ")
    )
}

#[derive(Debug)]
struct RunArgs {
    name: String,
    json: bool,
    in_process: bool,
    html: Option<PathBuf>,
    port: Option<u16>,
    timeout: Duration,
}

fn parse(args: &[String]) -> Result<RunArgs, String> {
    let mut run = RunArgs {
        name: DEFAULT_SCENARIO.into(),
        json: false,
        in_process: false,
        html: None,
        port: None,
        timeout: Duration::from_secs(180),
    };
    let mut named = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => run.json = true,
            "--in-process" => run.in_process = true,
            "--html" => {
                let v = it.next().ok_or("--html needs a file name")?;
                run.html = Some(PathBuf::from(v));
            }
            "--port" | "--timeout" => {
                let v = it.next().ok_or_else(|| format!("{a} needs a value"))?;
                let n: u64 = v
                    .parse()
                    .map_err(|_| format!("{a} {v:?} is not a number"))?;
                if a == "--port" {
                    run.port = Some(u16::try_from(n).map_err(|_| format!("--port {n}"))?);
                } else {
                    run.timeout = Duration::from_secs(n);
                }
            }
            "run" if !named => {}
            other if other.starts_with('-') => return Err(format!("unknown option {other:?}")),
            other if !named => {
                run.name = other.to_string();
                named = true;
            }
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    Ok(run)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{}", usage());
        return;
    }
    if args.first().map(String::as_str) == Some("plan") {
        let json = args.iter().any(|a| a == "--json");
        if let Err(e) = escalation_devtools::plan::dry_run(&args[1..], json) {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
        return;
    }
    let run_args = match parse(&args) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}\n{}", usage());
            std::process::exit(2);
        }
    };
    let sc = match scenario::load(&run_args.name) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    // Everything the run starts is owned by this future: dropping it (on a signal) stops
    // cargo lambda watch and its functions.
    let mut run = Box::pin(run_scenario(run_args, sc));
    let code = tokio::select! {
        code = &mut run => code,
        (name, code) = shutdown_signal() => {
            eprintln!("\n{name}: stopping cargo lambda watch, the functions and the fakes…");
            drop(run);
            eprintln!("stopped");
            code
        }
    };
    std::process::exit(code);
}

async fn run_scenario(a: RunArgs, sc: Scenario) -> i32 {
    let mut tl = Timeline::new(a.json, true);
    if a.in_process {
        if std::env::var("MOTO_ENDPOINT").is_err() {
            eprintln!("error: MOTO_ENDPOINT is not set (scripts/demo.sh starts moto and sets it)");
            return 2;
        }
        if let Some(stdout) = divert_handler_stdout() {
            tl = tl.with_output(Box::new(stdout));
        }
        // The stack plus the escalation line (voice-inbound), for scenarios with calls.
        let mut config = test_config();
        let mut opts = StackOptions {
            roster_json: sc.roster_json(),
            ..StackOptions::default()
        };
        if sc.oncall.is_some() {
            opts.env
                .extend(escalation_devtools::scenario::OnCallScenario::env());
        }
        if sc.bridge.is_some() {
            // The accepted call offers 4; the bridge's URLs point at the line's handler.
            opts.env.push((
                "BRIDGE_URL",
                escalation_devtools::inbound_support::BASE.to_string(),
            ));
        }
        if let Some(file) = sc.policy_file() {
            opts.roster_json = file;
            // The line's teams name people of the test roster, absent from these policies.
            for g in config["numbers"][0]["groups"]
                .as_array_mut()
                .into_iter()
                .flatten()
            {
                g["people"] = serde_json::json!([]);
            }
        }
        // The flow reports each key to call-decision at once, served beside the stack.
        let decisions = match sc.live_decisions {
            true => {
                let (listener, url) = escalation_devtools::decision_url::bind().await;
                opts.env.push(("DECISION_URL", url));
                Some(listener)
            }
            false => None,
        };
        let stack = InboundStack::start_with(config, opts).await;
        if let Some(listener) = decisions {
            let parts = &stack.stack.parts;
            let decision = parts
                .call_decision(&stack.stack.aws, &stack.stack.resources.dial_queue_url)
                .expect("call-decision");
            escalation_devtools::decision_url::serve(listener, decision);
        }
        return match play(&stack, &a.name, &sc, &mut tl, a.timeout).await {
            Ok(run) => {
                tl.summary(&run);
                match write_html(a.html.as_ref(), &tl, &run) {
                    Err(code) => code,
                    Ok(()) if run.ok => 0,
                    Ok(()) => 1,
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                1
            }
        };
    }
    if sc.live_decisions {
        eprintln!(
            "error: {} applies keys during the call through call-decision, which cargo lambda watch does not run here; add --in-process",
            a.name
        );
        return 2;
    }
    if let Err(e) = find_cargo_lambda() {
        eprintln!("error: {e}");
        return 2;
    }
    let mut opts = LocalOptions {
        port: a.port,
        roster_json: sc.roster_json(),
        ..LocalOptions::default()
    };
    if sc.oncall.is_some() {
        opts.env.extend(
            escalation_devtools::scenario::OnCallScenario::env()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v)),
        );
    }
    if let Some(file) = sc.policy_file() {
        opts.roster_json = file;
    }
    let mut stack = match LocalStack::start(opts, &mut tl).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    let result = play(&stack, &a.name, &sc, &mut tl, a.timeout).await;
    let code = match &result {
        Ok(run) if run.ok => 0,
        Ok(_) => 1,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    };
    if code != 0 {
        let log = stack.keep_logs();
        eprintln!("function logs kept in {}", log.display());
    }
    tl.stack("stopping cargo lambda watch and the functions");
    let pids = stack.stop();
    let left: Vec<u32> = pids
        .iter()
        .copied()
        .filter(|p| escalation_devtools::local::proc::alive(*p))
        .collect();
    if left.is_empty() {
        tl.stack(&format!(
            "stopped {} process(es) (cargo-lambda and the functions); none left",
            pids.len()
        ));
    } else {
        eprintln!("error: processes still running after the stop: {left:?}");
    }
    // The summary comes last, after everything has stopped.
    if let Ok(run) = &result {
        tl.summary(run);
        if let Err(code) = write_html(a.html.as_ref(), &tl, run) {
            return code;
        }
    }
    if left.is_empty() { code } else { 1 }
}

/// Writes the HTML page when `--html` asked for one; `Err(exit code)` if it cannot.
fn write_html(path: Option<&PathBuf>, tl: &Timeline, run: &RunSummary) -> Result<(), i32> {
    let Some(path) = path else { return Ok(()) };
    match std::fs::write(path, html::render(tl.page(), run)) {
        Ok(()) => {
            eprintln!("timeline page: {}", path.display());
            Ok(())
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", path.display());
            Err(1)
        }
    }
}

/// In-process, the handlers print their CloudWatch metrics (EMF lines) on stdout, as they
/// do on Lambda. Those go to /dev/null here; the returned file is the real stdout, for the
/// timeline alone (so `--json` output stays one event per line).
#[cfg(unix)]
fn divert_handler_stdout() -> Option<std::fs::File> {
    use std::io::Write;
    use std::os::fd::FromRawFd;
    let _ = std::io::stdout().flush();
    // SAFETY: plain fd syscalls; `saved` is a fresh descriptor owned by the returned File.
    unsafe {
        let saved = libc::dup(1);
        if saved < 0 {
            return None;
        }
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
        if null < 0 || libc::dup2(null, 1) < 0 {
            libc::close(saved);
            return None;
        }
        libc::close(null);
        Some(std::fs::File::from_raw_fd(saved))
    }
}

#[cfg(not(unix))]
fn divert_handler_stdout() -> Option<std::fs::File> {
    None
}

/// Ctrl-C or SIGTERM: (name, exit code).
async fn shutdown_signal() -> (&'static str, i32) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => ("interrupted", 130),
            _ = term.recv() => ("terminated", 143),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        ("interrupted", 130)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_default_run_is_the_real_lambda_binaries_on_the_default_scenario() {
        let r = parse(&[]).unwrap();
        assert_eq!(r.name, DEFAULT_SCENARIO);
        assert!(!r.in_process && !r.json);
        let r = parse(&args(&["nobody-answers", "--json", "--port", "9123"])).unwrap();
        assert_eq!(r.name, "nobody-answers");
        assert!(r.json && !r.in_process);
        assert_eq!(r.port, Some(9123));
        let r = parse(&args(&["--html", "t.html", "escalate"])).unwrap();
        assert_eq!(r.html, Some(PathBuf::from("t.html")));
        assert_eq!(r.name, "escalate");
        let r = parse(&args(&["run", "--in-process", "storm", "--timeout", "300"])).unwrap();
        assert_eq!((r.name.as_str(), r.in_process), ("storm", true));
        assert_eq!(r.timeout, Duration::from_secs(300));
    }

    #[test]
    fn mistakes_are_named() {
        assert!(parse(&args(&["--jsn"])).unwrap_err().contains("--jsn"));
        assert!(parse(&args(&["a", "b"])).unwrap_err().contains("\"b\""));
        assert!(
            parse(&args(&["--port"]))
                .unwrap_err()
                .contains("needs a value")
        );
        assert!(parse(&args(&["--port", "99999"])).is_err());
        assert!(parse(&args(&["--html"])).unwrap_err().contains("--html"));
    }
}
