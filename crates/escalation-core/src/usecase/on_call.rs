//! Who is on call for a team right now, outside an escalation: the inbound line's
//! put-through asks the same sources, in the same order, as a new escalation does.

use super::Engine;
use crate::model::{Incident, Person, SysId};
use crate::ports::LineupError;

/// The sys_id the question is asked with: no incident exists yet (all zeros is never a
/// ServiceNow record).
const NO_INCIDENT: &str = "00000000000000000000000000000000";

impl Engine {
    /// The people a priority-1 incident of this team would call now, in order, each once;
    /// and where the list came from ("stored policy Database"). A team is named by its
    /// `assignment_group` sys_id and/or its name, as incidents name it.
    pub async fn on_call_now(
        &self,
        group_sys_id: Option<&str>,
        group_name: &str,
    ) -> Result<(Vec<Person>, Option<String>), LineupError> {
        let incident = Incident {
            sys_id: SysId::parse(NO_INCIDENT).expect("a valid sys_id"),
            number: String::new(),
            short_description: String::new(),
            priority: "1".into(),
            assignment_group: group_sys_id.map(str::to_string),
            assignment_group_name: Some(group_name.to_string()),
        };
        let resolved = self.ports.lineups.lineup_for(&incident, self.now()).await?;
        let mut people: Vec<Person> = Vec::new();
        for p in resolved.roster.people() {
            if !people.iter().any(|q| q.phone == p.phone) {
                people.push(p.clone());
            }
        }
        Ok((people, resolved.roster.source))
    }
}
