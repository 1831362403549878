//! `escalation-admin`: provisions the Twilio side of the phone escalation as code, and checks
//! an installation.
//!
//! * [`flow`]: the Studio flow file (infra/twilio/escalation-flow.json) and its contract with
//!   the Lambdas;
//! * [`api`]: a small Twilio REST client (Studio v2, Event Streams v1);
//! * [`deploy`]: validate the flow, then create or update the flow, the Kinesis sink and the
//!   `execution.ended` subscription, idempotently;
//! * [`doctor`]: checks a deployed installation (configuration, secret, Twilio, Event
//!   Streams, ServiceNow, roster, a signed ping to the trigger);
//! * [`test_call`]: one real call through the flow, in a language, to hear the prompts;
//! * [`canary`]: the TwiML of the canary's answering application (greets, presses 1).
//!
//! The binary (`src/main.rs`) is a thin clap front end; tests drive this library and the
//! binary against the Twilio and ServiceNow fakes (`escalation-fakes`) and moto.

pub mod api;
pub mod canary;
pub mod deploy;
pub mod doctor;
pub mod flow;
pub mod policy;
pub mod test_call;

pub use api::{ApiError, CredentialSource, Credentials, Twilio, TwilioError};
pub use deploy::{
    AdminError, Change, DeployReport, DeploySpec, Outcome, SinkSpec, deploy, validate,
};
