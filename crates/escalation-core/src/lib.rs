//! The escalation engine of the ServiceNow phone escalation product.
//!
//! Pure: no AWS SDK, HTTP client or Lambda runtime. Time is passed in; every outside
//! capability is a port (`ports`) that the adapters crate implements for AWS, Twilio and
//! ServiceNow, and `testing` implements in memory.
//!
//! - `model`: identifiers, phone numbers, the incident, the roster, call outcomes.
//! - `bridge`: the conference bridge an agent opens after accepting (key 4).
//! - `canary`: the synthetic escalation's marker incident and what it never sends.
//! - `escalation`: the aggregate and every rule of the walk.
//! - `notes`: the wording of every work note.
//! - `update`: writes to the incident.
//! - `spoken`: incident text made safe to read aloud.
//! - `lineup_source`: lineup sources tried in order; sources fixed at start-up.
//! - `oncall`: a ServiceNow On-Call escalation plan checked and turned into a lineup.
//! - `policy`: escalation policies per group and who they put on call at an instant.
//! - `prompts`: every word said on an escalation call, per language.
//! - `ports`: what the engine needs from outside.
//! - `messaging`: the SMS path's ports (send a text, open offers) and replies.
//! - `usecase`: start, dial, call ended, sweep, apply update, replay guard.

pub mod bridge;
pub mod bundle;
pub mod canary;
pub mod dial_queue;
pub mod escalation;
pub mod lineup_source;
pub mod messaging;
pub mod model;
pub mod notes;
pub mod oncall;
pub mod policy;
pub mod ports;
pub mod prompts;
pub mod spoken;
pub mod time;
pub mod update;
pub mod usecase;

#[cfg(feature = "testing")]
pub mod testing;
