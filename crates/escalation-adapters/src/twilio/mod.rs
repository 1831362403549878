//! Twilio: the Studio REST client; the account REST API (`account`: credentials, requests,
//! errors) with the Calls API on it (the bridge's calls, hanging up an attempt's call) and
//! the Messages API (texts after unanswered calls); the contract with the escalation flow;
//! the engine's dialer on top of Studio and the Calls API; and the decoding of Event
//! Streams records.

pub mod account;
pub mod bundle_params;
pub mod calls;
pub mod contract;
pub mod dialer;
pub mod error;
pub mod event_stream;
pub mod messages;
pub mod studio;

pub use account::{AccountClient, ApiKey};
pub use calls::CallsClient;
pub use contract::DecisionLink;
pub use dialer::StudioDialer;
pub use error::TwilioError;
pub use messages::MessagesClient;
pub use studio::StudioClient;
