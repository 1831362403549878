//! Where a lineup comes from: sources tried in order, and the sources known at start-up.
//!
//! [`Sources`] asks each source in turn. A source that has no policy for the group, cannot
//! answer, or calls nobody at this instant is passed over, and the lineup that is used
//! says so in its source ("stored policy Database; ServiceNow On-Call not used: timed out
//! after 2 s"); a source that could not answer is counted ([`Metric::LineupFallbacks`]).
//! When no source has anyone to call, the reasons of all of them are the error.

use crate::model::{Incident, Roster};
use crate::policy::PolicySet;
use crate::ports::{LineupError, LineupSource, Metric, Metrics, Resolved};
use async_trait::async_trait;
use std::sync::Arc;

/// The same roster for every incident (tests, and the inbound line's fixed lists).
pub struct FixedRoster(pub Roster);

#[async_trait]
impl LineupSource for FixedRoster {
    fn name(&self) -> &str {
        "fixed roster"
    }

    async fn lineup_for(&self, _: &Incident, _: u64) -> Result<Resolved, LineupError> {
        Ok(Resolved {
            roster: self.0.clone(),
            rounds: None,
            fallback_group: None,
        })
    }
}

/// Policies known at start-up (a file), resolved per incident at its instant.
pub struct FixedPolicies {
    /// How notes name this source ("roster file").
    pub name: String,
    pub set: PolicySet,
}

#[async_trait]
impl LineupSource for FixedPolicies {
    fn name(&self) -> &str {
        &self.name
    }

    async fn lineup_for(&self, incident: &Incident, at_ms: u64) -> Result<Resolved, LineupError> {
        resolve_in(&self.set, &self.name, incident, at_ms)
    }
}

/// Resolve an incident's lineup in a policy set; `origin` names where the set came from.
pub fn resolve_in(
    set: &PolicySet,
    origin: &str,
    incident: &Incident,
    at_ms: u64,
) -> Result<Resolved, LineupError> {
    let at = jiff::Timestamp::from_millisecond(at_ms as i64)
        .map_err(|e| LineupError::Unavailable(format!("instant {at_ms}: {e}")))?;
    let lineup = set
        .resolve(
            incident.assignment_group_name.as_deref(),
            incident.assignment_group.as_deref(),
            &incident.priority,
            at,
        )
        .map_err(|e| LineupError::NoPolicy(format!("{origin}: {e}")))?;
    let mut roster = lineup.roster();
    roster.source = Some(format!("{origin}: {}", lineup.source));
    Ok(Resolved {
        roster,
        rounds: lineup.rounds,
        fallback_group: lineup.fallback_group,
    })
}

/// Sources in order of preference.
pub struct Sources {
    pub sources: Vec<Arc<dyn LineupSource>>,
    pub metrics: Arc<dyn Metrics>,
}

#[async_trait]
impl LineupSource for Sources {
    fn name(&self) -> &str {
        "policy sources"
    }

    async fn lineup_for(&self, incident: &Incident, at_ms: u64) -> Result<Resolved, LineupError> {
        let mut passed_over = Vec::new();
        for source in &self.sources {
            match source.lineup_for(incident, at_ms).await {
                Ok(r) if !r.roster.agents.is_empty() => {
                    let mut r = r;
                    if !passed_over.is_empty() {
                        let from = r
                            .roster
                            .source
                            .take()
                            .unwrap_or_else(|| source.name().into());
                        r.roster.source = Some(format!("{from}; {}", passed_over.join("; ")));
                    }
                    return Ok(r);
                }
                Ok(r) => passed_over.push(format!(
                    "{} calls nobody at this time",
                    r.roster.source.as_deref().unwrap_or(source.name())
                )),
                Err(LineupError::NoPolicy(why)) => passed_over.push(why),
                Err(LineupError::Unavailable(why)) => {
                    tracing::warn!(source = source.name(), reason = %why, "lineup source not used");
                    self.metrics
                        .count("incident-trigger", Metric::LineupFallbacks, 1);
                    passed_over.push(format!("{} not used: {why}", source.name()));
                }
            }
        }
        Err(LineupError::NoPolicy(if passed_over.is_empty() {
            "no policy source is configured".into()
        } else {
            passed_over.join("; ")
        }))
    }
}
