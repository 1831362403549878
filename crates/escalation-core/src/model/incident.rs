//! The incident as the business rule (or the inbound line) describes it.

use super::SysId;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub sys_id: SysId,
    pub number: String,
    pub short_description: String,
    /// "1" to "5", as ServiceNow writes it.
    pub priority: String,
    #[serde(default)]
    pub assignment_group: Option<String>,
}

impl Incident {
    /// The group as metrics name it: the assignment group, or `-` when there is none.
    pub fn group_label(&self) -> &str {
        self.assignment_group.as_deref().unwrap_or("-")
    }
}
