//! The dry run (`demo plan`): who would be called for an incident, in what order, with which
//! timeouts and rounds, under the configured policy. No calls, no writes.

use serde_json::json;
use std::collections::HashMap;

/// The dry run: the call order for an incident under the configured policy (env
/// `MAX_REDIALS`, `ROUNDS`, `RING_TIMEOUT_SECS`, `ESCALATE_PRIORITIES`, `ROSTER_PATH`), for
/// the incident's group at `--at` (default now) from `--policies FILE` (a policy document or
/// the original roster; default the bundled sample).
pub fn dry_run(args: &[String], json_out: bool) -> Result<(), String> {
    let mut opts: HashMap<&str, String> = HashMap::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => {}
            "--number" | "--priority" | "--group" | "--roster" | "--policies" | "--at" => {
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
    let mut policy = escalation_core::escalation::Policy {
        max_redials: env("MAX_REDIALS", 1)?,
        rounds: env("ROUNDS", 1)?.max(1),
        ring_timeout_secs: env("RING_TIMEOUT_SECS", 30)?,
        fallback_group: std::env::var("FALLBACK_GROUP")
            .ok()
            .filter(|g| !g.is_empty()),
        ..Default::default()
    };
    let roster_path = opts
        .get("policies")
        .or(opts.get("roster"))
        .cloned()
        .or_else(|| std::env::var("ROSTER_PATH").ok());
    let set = match &roster_path {
        Some(p) => escalation_adapters::roster_file::load(std::path::Path::new(p), true)
            .map(|f| f.set)
            .map_err(|e| e.to_string())?,
        None => escalation_core::policy::PolicySet::from_json(crate::fixture::SAMPLE_ROSTER)
            .map_err(|e| e.to_string())?,
    };
    let number = opts
        .get("number")
        .cloned()
        .unwrap_or_else(|| "INC0000000".into());
    let priority = opts.get("priority").cloned().unwrap_or_else(|| "1".into());
    let group = opts.get("group").cloned().unwrap_or_else(|| "-".into());
    let at: jiff::Timestamp = match opts.get("at") {
        Some(a) => a
            .parse()
            .map_err(|e| format!("--at {a:?} is not an instant like 2026-12-01T03:00Z ({e})"))?,
        None => jiff::Timestamp::now(),
    };
    let source = roster_path
        .as_deref()
        .map(|p| format!("policy file {p}"))
        .unwrap_or_else(|| "bundled assets/agent_list.json".into());
    // Who is called, said as `escalation-admin policy who` says it.
    let (lineup, who) = escalation_admin::policy::who_in(&set, &source, &group, &priority, at)
        .map_err(|e| {
            format!(
                "{}: the trigger would answer 422 and note that nobody was called",
                e.message
            )
        })?;
    if let Some(r) = lineup.rounds {
        policy.rounds = r;
    }
    if lineup.fallback_group.is_some() {
        policy.fallback_group = lineup.fallback_group.clone();
    }
    let roster = lineup.roster();
    let escalating: Vec<String> = std::env::var("ESCALATE_PRIORITIES")
        .unwrap_or_else(|_| "1,2".into())
        .split(',')
        .map(|p| p.trim().to_string())
        .collect();
    let calls = escalation_core::escalation::plan(&roster, &policy);
    if json_out {
        for (i, c) in calls.iter().enumerate() {
            println!(
                "{}",
                json!({"call": i + 1, "round": c.round + 1, "list": c.list, "name": c.person.name,
                "phone": c.person.phone.masked(), "redial": c.redial,
                "ring_timeout_secs": c.person.ring_timeout_secs.unwrap_or(policy.ring_timeout_secs)})
            );
        }
        println!(
            "{}",
            json!({"incident": number, "priority": priority, "group": group, "at": at.to_string(), "source": lineup.source, "escalates": escalating.contains(&priority),
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
    print!("{who}");
    println!(
        "The calls: ring timeout {} s, {} redial(s) per person unless a step sets its own, {} round(s); press 1 accepts, 2 passes, 3 jumps to the next escalation step.",
        policy.ring_timeout_secs, policy.max_redials, policy.rounds
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
        escalation_core::time::human_duration(
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
