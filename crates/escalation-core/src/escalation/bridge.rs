//! The bridge's question to the aggregate: who accepted attempt N, and whom the bridge
//! calls in (the next person of the lineup after them).

use super::Escalation;
use crate::bridge::BridgeParties;
use crate::model::ListKind;

impl Escalation {
    /// The parties of a bridge opened from attempt `attempt`'s call; `None` when the
    /// escalation has no such attempt. The callee is the first person after the acceptor in
    /// call order (agents, then the escalation list) who is someone else.
    pub fn bridge_parties(&self, attempt: u32) -> Option<BridgeParties> {
        let (list, name) = match self.current().filter(|a| a.number == attempt) {
            Some(a) => (a.list, a.person.name.clone()),
            None => {
                let h = self.history().iter().find(|h| h.number == attempt)?;
                (h.list, h.name.clone())
            }
        };
        let roster = self.roster();
        let lineup: Vec<_> = roster.people().collect();
        let offset = match list {
            ListKind::Agents => 0,
            ListKind::Escalation => roster.agents.len(),
        };
        let at = roster
            .list(list)
            .iter()
            .position(|p| p.name == name)
            .map(|i| i + offset);
        let language = at.and_then(|i| lineup[i].language.clone());
        let callee = at
            .map(|i| i + 1)
            .into_iter()
            .flat_map(|from| lineup.iter().skip(from))
            .find(|p| p.name != name)
            .map(|p| (*p).clone());
        Some(BridgeParties {
            acceptor: name,
            language,
            callee,
        })
    }
}
