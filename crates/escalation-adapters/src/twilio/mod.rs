//! Twilio: the Studio REST client, the Messages client (texts after unanswered calls), the contract with the escalation flow, the engine's
//! dialer on top of both, and the decoding of Event Streams records.

pub mod contract;
pub mod dialer;
pub mod error;
pub mod event_stream;
pub mod messages;
pub mod studio;

pub use dialer::StudioDialer;
pub use error::TwilioError;
pub use messages::MessagesClient;
pub use studio::StudioClient;
