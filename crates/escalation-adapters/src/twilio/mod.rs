//! Twilio: the Studio REST client, the Calls API (the bridge's calls), the Messages client (texts after unanswered calls), the contract with the escalation flow, the engine's
//! dialer on top of both, and the decoding of Event Streams records.

pub mod calls;
pub mod contract;
pub mod dialer;
pub mod error;
pub mod event_stream;
pub mod messages;
pub mod studio;

pub use calls::CallsClient;
pub use contract::DecisionLink;
pub use dialer::StudioDialer;
pub use error::TwilioError;
pub use messages::MessagesClient;
pub use studio::StudioClient;
