//! Plays a named scenario through the whole stack in one process: real handlers, moto,
//! ServiceNow and Twilio fakes with simulated agents. Prints a timeline per incident and a
//! summary; `--json` prints the same as JSON lines. Exit 1 if the outcome is not the one
//! the scenario promises.
//!
//! usage: demo [SCENARIO] [--json]      (needs MOTO_ENDPOINT; scripts/demo.sh sets it up)
//!        demo plan [--number INC..] [--priority N] [--group G] [--roster FILE]
//!                                       (dry run: who would be called; no calls, no writes)

use escalation::domain::Status;
use escalation_devtools::scenario;
use escalation_devtools::stack::{Stack, StackOptions};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json_out = args.iter().any(|a| a == "--json");
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!(
            "usage: demo [SCENARIO] [--json]\n       demo plan [--number INC0010001] [--priority 1] [--group GROUP] [--roster FILE] [--json]\nscenarios: {}",
            scenario::names().join(", ")
        );
        return;
    }
    if args.first().map(String::as_str) == Some("plan") {
        if let Err(e) = dry_run(&args[1..], json_out) {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
        return;
    }
    let name = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .cloned()
        .unwrap_or_else(|| "pass-then-accept".into());
    let sc = match scenario::load(&name) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let ok = run(&name, &sc, json_out).await;
    std::process::exit(if ok { 0 } else { 1 });
}

struct Printer {
    json: bool,
    start: Instant,
}

impl Printer {
    fn event(&self, incident: &str, kind: &str, text: String, extra: Value) {
        let t = self.start.elapsed().as_secs_f64();
        if self.json {
            let mut v = json!({"t": (t * 1000.0).round() / 1000.0, "incident": incident, "event": kind, "text": text});
            if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
                o.extend(e);
            }
            println!("{v}");
        } else {
            println!("  +{t:6.2}s  {incident:<11} {kind:<9} {text}");
        }
    }
}

async fn run(name: &str, sc: &scenario::Scenario, json_out: bool) -> bool {
    let p = Printer {
        json: json_out,
        start: Instant::now(),
    };
    if !json_out {
        println!("Scenario {name}: {}", sc.description);
    }
    let stack = Stack::start(StackOptions::default()).await;
    for (phone, steps) in &sc.agents {
        stack.twilio.script(phone, steps.clone());
    }
    let mut ids = Vec::new();
    for (i, inc) in sc.incidents.iter().enumerate() {
        let sys_id = format!("{:032x}", 0xdead_0000u64 + i as u64);
        let (status, body) = stack
            .trigger(&sys_id, &inc.number, &inc.short_description, &inc.priority)
            .await;
        p.event(
            &inc.number,
            "trigger",
            format!(
                "priority {} → HTTP {status}, {}, calling {}",
                inc.priority,
                body["escalation_id"].as_str().unwrap_or("?"),
                body["calling"].as_str().unwrap_or("nobody")
            ),
            json!({"status": status, "response": body}),
        );
        ids.push((sys_id, inc.number.clone()));
    }

    let mut seen_attempts: HashMap<String, usize> = HashMap::new();
    let mut seen_notes: HashMap<String, usize> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let k = stack.pump_kinesis().await.is_some();
        let s = stack.pump_sqs().await.is_some();
        let mut all_done = true;
        for (sys_id, number) in &ids {
            let Some(stored) = stack.escalation(sys_id).await else {
                continue;
            };
            let esc = stored.escalation;
            let seen = seen_attempts.entry(sys_id.clone()).or_default();
            for h in &esc.history[*seen..] {
                p.event(
                    number,
                    "call",
                    format!("attempt {} {} {} — {}", h.number, h.name, h.masked_phone, h.outcome.describe()),
                    json!({"attempt": h.number, "agent": h.name, "phone": h.masked_phone, "outcome": h.outcome, "digit": h.outcome.digit()}),
                );
            }
            *seen = esc.history.len();
            let notes = stack.sn.work_notes(sys_id);
            let seen = seen_notes.entry(sys_id.clone()).or_default();
            for n in &notes[*seen..] {
                let first_line = n.lines().next().unwrap_or_default();
                let short: String = first_line.chars().take(150).collect();
                p.event(
                    number,
                    "snow",
                    format!(
                        "work note: {short}{}",
                        if first_line.len() > 150 { "…" } else { "" }
                    ),
                    json!({"note": n}),
                );
            }
            *seen = notes.len();
            all_done &= esc.status.is_terminal();
        }
        if all_done
            && !k
            && !s
            && stack
                .twilio
                .executions()
                .iter()
                .all(|e| e.status != "active")
        {
            break;
        }
        if Instant::now() > deadline {
            eprintln!("error: scenario did not finish in 180 s");
            return false;
        }
        if !k && !s {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    let mut ok = true;
    if !json_out {
        println!("Summary");
    }
    for (sys_id, number) in &ids {
        let esc = stack.escalation(sys_id).await.unwrap().escalation;
        let incident = stack.sn.incident(sys_id).unwrap_or_default();
        let tta = esc
            .history
            .last()
            .map(|h| h.ended_at.saturating_sub(esc.created_at))
            .unwrap_or(0);
        let status = serde_json::to_value(esc.status).unwrap();
        let promised = match sc.expect.as_str() {
            "TERMINAL" => esc.status.is_terminal(),
            want => status == want,
        };
        ok &= promised;
        let text = match esc.status {
            Status::Accepted => format!(
                "ACCEPTED by {} after {:.1} s, {} attempt(s); ServiceNow state={} assigned_to={}",
                esc.accepted_by.as_deref().unwrap_or("?"),
                tta as f64 / 1000.0,
                esc.history.len(),
                incident.get("state").and_then(Value::as_str).unwrap_or(""),
                incident
                    .get("assigned_to")
                    .and_then(Value::as_str)
                    .unwrap_or("")
            ),
            Status::Exhausted => format!(
                "EXHAUSTED after {} attempt(s): nobody accepted",
                esc.history.len()
            ),
            Status::Active => "still ACTIVE".into(),
        };
        if json_out {
            p.event(number, "summary", text, json!({"status": status, "attempts": esc.history.len(), "accepted_by": esc.accepted_by, "ms_to_outcome": tta, "as_promised": promised}));
        } else {
            println!(
                "  {number:<11} {text}{}",
                if promised {
                    ""
                } else {
                    "   <-- NOT what the scenario promises"
                }
            );
        }
    }
    let calls = stack.twilio.executions().len();
    if json_out {
        println!(
            "{}",
            json!({"event": "done", "scenario": name, "calls_placed": calls, "ok": ok})
        );
    } else {
        println!(
            "  {calls} call(s) placed; outcome {}",
            if ok { "as promised" } else { "NOT as promised" }
        );
    }
    ok
}

/// The dry run: the call order for an incident under the configured policy (env
/// `MAX_REDIALS`, `ROUNDS`, `RING_TIMEOUT_SECS`, `ESCALATE_PRIORITIES`, `ROSTER_PATH`).
fn dry_run(args: &[String], json_out: bool) -> Result<(), String> {
    let mut opts: HashMap<&str, String> = HashMap::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => {}
            "--number" | "--priority" | "--group" | "--roster" => {
                let v = it.next().ok_or_else(|| format!("{a} needs a value"))?;
                opts.insert(a.trim_start_matches("--"), v.clone());
            }
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    let env = |k: &str, d: u32| -> Result<u32, String> {
        std::env::var(k).ok().map_or(Ok(d), |v| {
            v.parse().map_err(|_| format!("{k}={v:?} is not a number"))
        })
    };
    let policy = escalation::domain::Policy {
        max_redials: env("MAX_REDIALS", 1)?,
        rounds: env("ROUNDS", 1)?.max(1),
        ring_timeout_secs: env("RING_TIMEOUT_SECS", 30)?,
        fallback_group: std::env::var("FALLBACK_GROUP")
            .ok()
            .filter(|g| !g.is_empty()),
        ..Default::default()
    };
    let roster_path = opts
        .get("roster")
        .cloned()
        .or_else(|| std::env::var("ROSTER_PATH").ok());
    let roster = match &roster_path {
        Some(p) => escalation::roster::Roster::load(std::path::Path::new(p)),
        None => escalation::roster::Roster::bundled(),
    }
    .map_err(|e| e.to_string())?;
    let number = opts
        .get("number")
        .cloned()
        .unwrap_or_else(|| "INC0000000".into());
    let priority = opts.get("priority").cloned().unwrap_or_else(|| "1".into());
    let group = opts.get("group").cloned().unwrap_or_else(|| "-".into());
    let escalating: Vec<String> = std::env::var("ESCALATE_PRIORITIES")
        .unwrap_or_else(|_| "1,2".into())
        .split(',')
        .map(|p| p.trim().to_string())
        .collect();
    let calls = escalation::domain::plan(&roster, &policy);
    if json_out {
        for (i, c) in calls.iter().enumerate() {
            println!(
                "{}",
                json!({"call": i + 1, "round": c.round + 1, "list": c.list, "name": c.person.name,
                "phone": c.person.phone.masked(), "redial": c.redial, "ring_timeout_secs": policy.ring_timeout_secs})
            );
        }
        println!(
            "{}",
            json!({"incident": number, "priority": priority, "group": group, "escalates": escalating.contains(&priority),
            "worst_case_calls": calls.len(), "worst_case_ringing_secs": calls.len() as u64 * u64::from(policy.ring_timeout_secs)})
        );
        return Ok(());
    }
    println!(
        "Dry run for {number} (priority {priority}, group {group}): no calls are placed, nothing is written."
    );
    if !escalating.contains(&priority) {
        println!(
            "Priority {priority} does not escalate (ESCALATE_PRIORITIES={}); the trigger would answer 400.",
            escalating.join(",")
        );
        return Ok(());
    }
    println!(
        "Roster: {}. Ring timeout {} s, {} redial(s) per person, {} round(s); press 1 accepts, 2 passes, 3 jumps to the escalation list.",
        roster_path
            .as_deref()
            .unwrap_or("bundled assets/agent_list.json"),
        policy.ring_timeout_secs,
        policy.max_redials,
        policy.rounds
    );
    println!(
        "  {:>3}  {:>5}  {:<18}  {:<24}  {:<14}",
        "#", "round", "list", "name", "number"
    );
    for (i, c) in calls.iter().enumerate() {
        println!(
            "  {:>3}  {:>5}  {:<18}  {:<24}  {:<14}{}",
            i + 1,
            c.round + 1,
            c.list.label(),
            c.person.name,
            c.person.phone.masked(),
            if c.redial > 0 { "  (redial)" } else { "" }
        );
    }
    println!(
        "If nobody answers: {} calls, about {} of ringing, then EXHAUSTED{}.",
        calls.len(),
        escalation::clock::human_duration(
            calls.len() as u64 * u64::from(policy.ring_timeout_secs) * 1000
        ),
        policy
            .fallback_group
            .as_ref()
            .map(|g| format!(" and reassignment to group {g}"))
            .unwrap_or_default()
    );
    Ok(())
}
