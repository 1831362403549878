//! One handler per function: decode the event, call one use case, encode the answer.

pub mod canary;
pub mod decision;
pub mod dialer;
pub mod flow_events;
pub mod function_url;
pub mod inbound;
pub mod sweeper;
pub mod trigger;
pub mod updater;

pub use canary::Canary;
pub use decision::CallDecision;
pub use dialer::EscalationDialer;
pub use flow_events::FlowEvents;
pub use sweeper::Sweeper;
pub use trigger::Trigger;
pub use updater::Updater;
