//! The tunables of one escalation, fixed when it starts and stored with it.

/// How hard the walk tries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Redials of the same person after no answer / busy / machine / no key, before moving on.
    pub max_redials: u32,
    /// Complete walks over both lists before giving up (1 = walk once).
    pub rounds: u32,
    /// How long a call rings (also set in the Studio flow); used for the dry run and sweeping.
    pub ring_timeout_secs: u32,
    /// When nobody accepts, reassign the incident to this group (sys_id), if set.
    pub fallback_group: Option<String>,
    /// People skipped because they were on another escalation's call are tried again after
    /// this many seconds, once the rest of the walk is done.
    pub busy_retry_secs: u32,
    /// How many such waits before giving up on busy people.
    pub max_busy_retries: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_redials: 1,
            rounds: 1,
            ring_timeout_secs: 30,
            fallback_group: None,
            busy_retry_secs: 30,
            max_busy_retries: 3,
        }
    }
}
