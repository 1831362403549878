//! The engine's ports, implemented for the outside world. Vendor words (HTTP status codes,
//! Twilio error numbers, ServiceNow's state "2", DynamoDB key prefixes) stop here: each
//! adapter maps them to the engine's own types.
//!
//! - `aws`: the DynamoDB escalation table and marks (`dynamo`, with the stored document in
//!   `doc`), the SQS update queue (`sqs`).
//! - `twilio`: the Studio REST client, the contract with the Studio flow, the dialer, Event
//!   Streams decoding.
//! - `servicenow`: the Table API client, the updater's writes and the inbound line's
//!   directory.
//! - `capability`: the token a call carries to decide its own attempt during the call.
//! - `secrets`, `signing` (the trigger's HMAC), `retry`, `ratelimit`, `emf` (metrics),
//!   `clock`, `http`, `roster_file`.

pub mod aws;
pub mod capability;
pub mod clock;
pub mod emf;
pub mod http;
pub mod ratelimit;
pub mod retry;
pub mod roster_file;
pub mod secrets;
pub mod servicenow;
pub mod signing;
pub mod twilio;
