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
    /// The assignment group's sys_id.
    #[serde(default)]
    pub assignment_group: Option<String>,
    /// The assignment group's name ("Database"), when the sender knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignment_group_name: Option<String>,
}

impl Incident {
    /// The group as metrics and notes name it: its name, else its sys_id, else `-`.
    pub fn group_label(&self) -> &str {
        self.assignment_group_name
            .as_deref()
            .or(self.assignment_group.as_deref())
            .unwrap_or("-")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_group_is_named_by_its_name_when_known() {
        let mut i = Incident {
            sys_id: SysId::parse("ef43c6d40a0a0b5700c77f9bf387afe3").unwrap(),
            number: "INC1".into(),
            short_description: String::new(),
            priority: "1".into(),
            assignment_group: None,
            assignment_group_name: None,
        };
        assert_eq!(i.group_label(), "-");
        i.assignment_group = Some("287ebd7da9fe198100f92cc8d1d2154e".into());
        assert_eq!(i.group_label(), "287ebd7da9fe198100f92cc8d1d2154e");
        i.assignment_group_name = Some("Database".into());
        assert_eq!(i.group_label(), "Database");
    }
}
