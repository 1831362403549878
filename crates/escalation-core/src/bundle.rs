//! Bundling: one call for several incidents that wait for the same person.
//!
//! With a bundle window (`BUNDLE_WINDOW_SECS`), the first call to a person does not go out
//! at once: it opens a bundle for the person's number that stays open for the window. Every
//! other call due to that person meanwhile joins it instead of being placed. When the
//! window ends, whoever closes the bundle (the opener's delayed dial request, or the
//! sweeper for any member) claims every member's dial lease and places one call about all
//! of them: "You have 4 new priority 1 incidents for the Database team. Press 1 to accept
//! all of them, 2 to pass them all, 9 to hear them one by one." The key is applied to each
//! member's own escalation, as if it had been its own call: each gets its own work note
//! naming the bundle, an accept assigns each, a pass moves each walk on.
//!
//! A bundle that ends up with one member is an ordinary call. A lone incident's call is
//! therefore delayed by the window, never more (its opener's request comes back when the
//! window ends). The rules are here; the storage is behind [`BundleStore`], the use case
//! is `usecase::bundle`.

use crate::model::{E164, EscalationId, Incident, SysId};
use crate::ports::RepoError;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// At most this many incidents in one call (the call reads each one after a 9).
pub const MAX_BUNDLE: usize = 10;

/// A joiner waits this long past the window before it may be dialled by the sweeper: the
/// opener closes the bundle at the window's end and carries the joiners in its call.
pub const JOIN_SLACK_MS: u64 = 30_000;

/// An open bundle whose window ended this long ago was never closed (its opener died):
/// a new bundle replaces it, and its members are dialled one by one by the sweeper.
pub const STALE_AFTER_MS: u64 = 30_000;

/// How bundles are gathered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BundleSettings {
    /// How long a bundle gathers before its call is placed.
    pub window_ms: u64,
    /// The most incidents one call carries ([`MAX_BUNDLE`] at most).
    pub max_size: usize,
}

impl BundleSettings {
    /// The settings for a window of `secs` seconds; `None` for 0 (bundling off).
    pub fn window_secs(secs: u32) -> Option<BundleSettings> {
        (secs > 0).then_some(BundleSettings {
            window_ms: u64::from(secs) * 1000,
            max_size: MAX_BUNDLE,
        })
    }
}

/// One attempt that waits in a bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub sys_id: SysId,
    pub escalation_id: EscalationId,
    pub attempt: u32,
}

/// The bundle a person's number gathers, or the last one it gathered (closed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    /// `<opener's escalation id>/<attempt>`: names the bundle in logs and notes.
    pub id: String,
    pub phone: E164,
    pub opened_at: u64,
    /// When the window ends and the call is placed.
    pub closes_at: u64,
    /// In the order they joined; the first opened the bundle.
    pub members: Vec<Member>,
    /// Set once someone closed it (and placed, or is placing, its call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<u64>,
}

/// A bundle as stored, with the version its next conditional write must expect (0: none
/// is stored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredBundle {
    pub bundle: Bundle,
    pub version: u64,
}

/// The bundles, one per phone number.
#[async_trait]
pub trait BundleStore: Send + Sync {
    /// What the number has (consistent read).
    async fn load(&self, phone: &E164) -> Result<Option<StoredBundle>, RepoError>;
    /// Save `bundle` for its number if the stored version is still `expected` (0: nothing
    /// stored); [`RepoError::Conflict`] otherwise.
    async fn save(&self, bundle: &Bundle, expected: u64) -> Result<(), RepoError>;
}

/// What joining a person's bundle comes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Join {
    /// A new bundle with this attempt as its opener: write it.
    Open(Bundle),
    /// The open bundle with this attempt added: write it.
    Add(Bundle),
    /// Already a member (a retry): nothing to write. `opener`: it opened the bundle.
    Member { bundle: Bundle, opener: bool },
    /// The bundle is full: call alone.
    Alone,
}

/// What closing a bundle comes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Close {
    /// Closed now, by us: write it, then place its call.
    Close(Bundle),
    /// Someone closed it at that time (they place its call).
    Already { closed_at: u64 },
    /// The number has another bundle (or none): this one was closed and replaced.
    Gone,
}

impl Bundle {
    /// Whether the bundle still takes members at `now`.
    fn takes(&self, now: u64) -> bool {
        self.closed_at.is_none() && now < self.closes_at + STALE_AFTER_MS
    }

    /// `member` joins the bundle `stored` for `phone` at `now`.
    pub fn join(
        stored: Option<&Bundle>,
        phone: &E164,
        member: &Member,
        now: u64,
        settings: &BundleSettings,
    ) -> Join {
        if let Some(b) = stored {
            if let Some(i) = b.members.iter().position(|m| m == member) {
                return Join::Member {
                    bundle: b.clone(),
                    opener: i == 0,
                };
            }
            if b.takes(now) {
                if b.members.len() >= settings.max_size.min(MAX_BUNDLE) {
                    return Join::Alone;
                }
                let mut grown = b.clone();
                grown.members.push(member.clone());
                return Join::Add(grown);
            }
        }
        Join::Open(Bundle {
            id: format!("{}/{}", member.escalation_id, member.attempt),
            phone: phone.clone(),
            opened_at: now,
            closes_at: now + settings.window_ms,
            members: vec![member.clone()],
            closed_at: None,
        })
    }

    /// Close bundle `id` (what `stored` holds for its number) at `now`.
    pub fn close(stored: Option<&Bundle>, id: &str, now: u64) -> Close {
        match stored {
            Some(b) if b.id == id => match b.closed_at {
                Some(closed_at) => Close::Already { closed_at },
                None => {
                    let mut closed = b.clone();
                    closed.closed_at = Some(now);
                    Close::Close(closed)
                }
            },
            _ => Close::Gone,
        }
    }
}

/// The bundle an attempt waits in, or the bundle call it was placed in. Kept on the
/// attempt (and stored with it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleTag {
    /// The bundle's id ([`Bundle::id`]).
    pub id: String,
    /// This attempt opened the bundle: its delayed dial request closes it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub opener: bool,
    /// Once the call is placed: the numbers of every incident it was about, in the order
    /// the call reads them (empty while waiting, or when the call was about this incident
    /// alone).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incidents: Vec<String>,
    /// The call was found again (its dialer died, or the answer to the create was lost)
    /// rather than recorded by the dialer that placed it: whether it is about other
    /// incidents too is not known, so it is treated as shared.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub found: bool,
}

impl BundleTag {
    /// Whether the attempt's call is (or was) about several incidents: ending it ends the
    /// others' calls too.
    pub fn is_shared(&self) -> bool {
        self.incidents.len() > 1 || self.found
    }
}

/// Another incident a bundle call is about, beside the call request's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundledCall {
    pub escalation_id: EscalationId,
    pub incident: Incident,
    pub attempt: u32,
}

impl BundledCall {
    pub fn member(&self) -> Member {
        Member {
            sys_id: self.incident.sys_id.clone(),
            escalation_id: self.escalation_id.clone(),
            attempt: self.attempt,
        }
    }
}

#[cfg(test)]
mod tests;
