//! Shared library of the ServiceNow phone escalation Lambdas.
//!
//! Pure domain code (`roster`, `domain`, `phone`, `clock`) has no I/O. Adapters
//! (`twilio`, `servicenow`, `store`, `outbox`, `config`) sit behind traits so the engine
//! (`app`) and the Lambda entry points (`handlers`) run the same against AWS, moto and
//! the fakes.

pub mod app;
pub mod clock;
pub mod cloudevent;
pub mod config;
pub mod domain;
pub mod handlers;
pub mod inbound;
pub mod metrics;
pub mod outbox;
pub mod phone;
pub mod ratelimit;
pub mod retry;
pub mod roster;
pub mod servicenow;
pub mod signature;
pub mod store;
pub mod twilio;
pub mod twilio_webhook;
pub mod twiml;
