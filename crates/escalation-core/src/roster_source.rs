//! The roster given at start-up, the same for every incident.

use crate::model::{Incident, Roster};
use crate::ports::{RosterSource, RosterUnavailable};
use async_trait::async_trait;

pub struct FixedRoster(pub Roster);

#[async_trait]
impl RosterSource for FixedRoster {
    async fn roster_for(&self, _incident: &Incident) -> Result<Roster, RosterUnavailable> {
        Ok(self.0.clone())
    }
}
