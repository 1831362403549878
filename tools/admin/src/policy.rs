//! `escalation-admin policy …`: validate, import, show the stored escalation policies, and
//! say who would be called for a group at an instant (and from which source).

use escalation_adapters::aws::PolicyStore;
use escalation_adapters::clock::now_ms;
use escalation_core::policy::{Lineup, PolicySet};
use jiff::Timestamp;
use std::path::Path;

/// A policy command's failure: what to print, and the exit code (1 refused, 2 usage).
#[derive(Debug)]
pub struct PolicyError {
    pub message: String,
    pub exit_code: u8,
}

fn refused(message: impl Into<String>) -> PolicyError {
    PolicyError {
        message: message.into(),
        exit_code: 1,
    }
}

fn usage(message: impl Into<String>) -> PolicyError {
    PolicyError {
        message: message.into(),
        exit_code: 2,
    }
}

fn read(file: &Path) -> Result<String, PolicyError> {
    std::fs::read_to_string(file).map_err(|e| usage(format!("cannot read {}: {e}", file.display())))
}

fn now() -> Timestamp {
    Timestamp::from_millisecond(now_ms() as i64).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// `policy validate FILE`: every problem, each naming its entry and field.
pub fn validate(file: &Path) -> Result<String, PolicyError> {
    let text = read(file)?;
    let set = PolicySet::validate(&text, now())
        .map_err(|e| refused(format!("{}: not valid:\n{e}", file.display())))?;
    let sample = set.sample_people();
    if !sample.is_empty() {
        return Err(refused(format!(
            "{}: calls the bundled sample people ({}), whose numbers are fictional; the functions refuse them outside the local stack",
            file.display(),
            sample.join(", ")
        )));
    }
    Ok(format!("{}: valid. {}\n", file.display(), summary(&set)))
}

fn summary(set: &PolicySet) -> String {
    let groups: Vec<&str> = set.groups.iter().map(|g| g.group.as_str()).collect();
    format!(
        "{} people; policies for {}; {}",
        set.people.len(),
        if groups.is_empty() {
            "no group".to_string()
        } else {
            groups.join(", ")
        },
        if set.default.is_some() {
            "a default policy"
        } else {
            "no default policy (incidents of other groups call nobody)"
        }
    )
}

/// `policy import FILE`: validated, then stored whole in one write, or nothing.
pub async fn import(store: &PolicyStore, file: &Path) -> Result<String, PolicyError> {
    let text = read(file)?;
    let version = store
        .import_checked(&text, now_ms(), false)
        .await
        .map_err(|e| refused(format!("{}: nothing imported:\n{e}", file.display())))?;
    let set = PolicySet::from_json(&text).map_err(|e| refused(e.to_string()))?;
    Ok(format!(
        "imported {} as version {version}: {}. New incidents use it within {} s.\n",
        file.display(),
        summary(&set),
        escalation_adapters::aws::policies::CACHE_SECS
    ))
}

/// `policy show [GROUP]`: the stored document, or one group's policy from it.
pub async fn show(store: &PolicyStore, group: Option<&str>) -> Result<String, PolicyError> {
    let doc = store.load().await.map_err(refused)?.ok_or_else(|| {
        refused("no policies are stored; import some with `escalation-admin policy import FILE`")
    })?;
    let value: serde_json::Value =
        serde_json::from_str(&doc.document).map_err(|e| refused(e.to_string()))?;
    let header = format!("stored policies, version {}\n", doc.version);
    let Some(group) = group else {
        return Ok(header + &serde_json::to_string_pretty(&value).unwrap_or_default() + "\n");
    };
    let found = value["groups"]
        .as_object()
        .and_then(|g| g.iter().find(|(name, _)| name.eq_ignore_ascii_case(group)))
        .map(|(_, v)| v.clone())
        .or_else(|| (group == "default").then(|| value["default"].clone()).filter(|v| !v.is_null()))
        .ok_or_else(|| refused(format!("no stored policy for group {group} (incidents of it follow the default policy, if any)")))?;
    Ok(header + &serde_json::to_string_pretty(&found).unwrap_or_default() + "\n")
}

/// Where `policy who` reads the policies from.
pub enum Origin<'a> {
    Stored(&'a PolicyStore),
    File(&'a Path),
}

/// `policy who --group G --at T`: who would be called, in order, and from which source.
pub async fn who(
    origin: Origin<'_>,
    group: &str,
    priority: &str,
    at: &str,
) -> Result<String, PolicyError> {
    let at: Timestamp = at.parse().map_err(|e| {
        usage(format!(
            "--at {at:?} is not an instant like 2026-12-01T03:00Z ({e})"
        ))
    })?;
    let (set, source) = match origin {
        Origin::File(f) => {
            let text = read(f)?;
            let set = PolicySet::from_json(&text)
                .map_err(|e| refused(format!("{}:\n{e}", f.display())))?;
            (set, format!("policy file {}", f.display()))
        }
        Origin::Stored(store) => {
            let doc = store.load().await.map_err(refused)?.ok_or_else(|| {
                refused("no policies are stored: nobody would be called (import some with `escalation-admin policy import FILE`)")
            })?;
            let set = PolicySet::from_json(&doc.document).map_err(|e| refused(e.to_string()))?;
            (set, format!("stored policies (version {})", doc.version))
        }
    };
    who_in(&set, &source, group, priority, at).map(|(_, text)| text)
}

/// `policy who` on a policy set already read (`source` names where from): the lineup and
/// the text `policy who` prints, for every tool that says who would be called (the demo's
/// dry run too).
pub fn who_in(
    set: &PolicySet,
    source: &str,
    group: &str,
    priority: &str,
    at: Timestamp,
) -> Result<(Lineup, String), PolicyError> {
    let lineup = set
        .resolve(Some(group), None, priority, at)
        .map_err(|e| refused(format!("{source}: {e}: nobody would be called")))?;
    let text = render(&lineup, source, group, priority, at);
    Ok((lineup, text))
}

/// The lineup as `policy who` prints it.
pub fn render(lineup: &Lineup, source: &str, group: &str, priority: &str, at: Timestamp) -> String {
    let mut out = format!(
        "Who is called for group {group}, priority {priority}, at {at}\nsource: {source}: {}\n",
        lineup.source
    );
    let mut n = 0;
    for (i, step) in lineup.steps.iter().enumerate() {
        let mut knobs = Vec::new();
        if step.escalation {
            knobs.push("escalation step (press 3 jumps here)".to_string());
        }
        if let Some(t) = step.ring_timeout_secs {
            knobs.push(format!("rings {t} s"));
        }
        if let Some(r) = step.redials {
            knobs.push(format!("redials {r}"));
        }
        if step.ring_all && step.people.len() > 1 {
            knobs.push("all at once, the first to accept wins".to_string());
        }
        let knobs = if knobs.is_empty() {
            String::new()
        } else {
            format!(" [{}]", knobs.join(", "))
        };
        out.push_str(&format!("step {}: {}{knobs}\n", i + 1, step.label));
        if step.people.is_empty() {
            out.push_str("   (nobody: no one on call, or already called in an earlier step)\n");
        }
        for called in &step.people {
            n += 1;
            out.push_str(&format!(
                "  {n}. {} {}{}{}\n",
                called.person.name,
                called.person.phone.masked(),
                called
                    .person
                    .sn_user
                    .as_deref()
                    .map(|u| format!(" (ServiceNow user {u})"))
                    .unwrap_or_default(),
                if called.is_override {
                    " — override"
                } else {
                    ""
                }
            ));
        }
    }
    if let Some(r) = lineup.rounds {
        out.push_str(&format!("rounds: {r}\n"));
    }
    if let Some(g) = &lineup.fallback_group {
        out.push_str(&format!("nobody accepts: reassigned to group {g}\n"));
    }
    if n == 0 {
        out.push_str("nobody would be called at this instant\n");
    }
    out.push_str(
        "(where ServiceNow On-Call is configured, ServiceNowOnCallPath, the trigger asks it first and uses these policies when it cannot answer)\n",
    );
    out
}
