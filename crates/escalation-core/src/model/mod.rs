//! The things an escalation is about: identifiers, phone numbers, the incident, the people
//! who can be called, and how a call ended. Constructed only through checked `parse`
//! functions, so the rest of the code never re-checks a string.

pub mod ids;
pub mod incident;
pub mod outcome;
pub mod phone;
pub mod roster;

pub use ids::{EscalationId, ExecutionSid, IdError, SysId};
pub use incident::Incident;
pub use outcome::{CallOutcome, DeclineReason};
pub use phone::E164;
pub use roster::{ListKind, Person, Roster, RosterError};
