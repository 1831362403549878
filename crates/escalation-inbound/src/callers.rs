//! Who is calling: the roster first, then ServiceNow users by phone number.
//!
//! Caller ID can be spoofed; it keeps strangers and wrong numbers off the line, it is not
//! authentication. Lines that need more can admit withheld or unknown numbers only with a
//! PIN (and may turn the roster / ServiceNow checks off).

use crate::config::Line;
use crate::state::Admitted;
use escalation_core::model::{E164, Roster};
use escalation_core::ports::{IncidentDirectory, ServiceNowError};

/// What Twilio puts in `From` when the caller ID is withheld: the words spelled on a
/// keypad (ANONYMOUS, RESTRICTED, UNKNOWN, BLOCKED, UNAVAILABLE, PRIVATE), or text.
const WITHHELD_NUMBERS: &[&str] = &[
    "+266696687",
    "+7378742833",
    "+8656696",
    "+2562533",
    "+86282452253",
    "+7748243",
];

/// The caller's number, or `None` when `from` carries no usable caller ID (withheld,
/// empty, or not a number). Surrounding white space is ignored.
pub fn caller_number(from: &str) -> Option<E164> {
    let from = from.trim();
    if WITHHELD_NUMBERS.contains(&from) {
        return None;
    }
    E164::parse(from).ok()
}

/// Whether `from` carries no usable caller ID.
pub fn is_withheld(from: &str) -> bool {
    caller_number(from).is_none()
}

/// A caller let in by number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    pub sys_id: Option<String>,
    /// The roster's `sn_user`, to resolve to a sys_id when an incident is made.
    pub sn_user: Option<String>,
    pub admitted: Admitted,
}

/// Find the caller: a roster entry with this number, else (if the line allows it) active
/// ServiceNow users whose phone or mobile phone is this number. `Ok(None)`: not known.
pub async fn identify(
    roster: &Roster,
    directory: &dyn IncidentDirectory,
    line: &Line,
    from: &E164,
) -> Result<Option<Caller>, ServiceNowError> {
    if line.callers.roster
        && let Some(p) = roster.people().find(|p| &p.phone == from)
    {
        return Ok(Some(Caller {
            name: p.name.clone(),
            sys_id: None,
            sn_user: p.sn_user.clone(),
            admitted: Admitted::Roster,
        }));
    }
    if !line.callers.servicenow_users {
        return Ok(None);
    }
    let users = directory
        .find_users_by_phone(from, line.callers.default_country_code.as_deref())
        .await?;
    if users.len() > 1 {
        tracing::warn!(from = %from.masked(), matches = users.len(),
            "several ServiceNow users have this phone number; using the first");
    }
    Ok(users.into_iter().next().map(|u| Caller {
        name: if u.name.trim().is_empty() {
            u.user_name.clone()
        } else {
            u.name.clone()
        },
        sys_id: Some(u.sys_id.into()),
        sn_user: None,
        admitted: Admitted::ServiceNow,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn withheld_caller_ids() {
        for from in [
            "",
            "anonymous",
            "Restricted",
            "+266696687",
            "+7378742833",
            "+8656696",
            "266696687",
        ] {
            assert!(is_withheld(from), "{from}");
        }
        assert!(!is_withheld("+15550100001"));
    }
}
