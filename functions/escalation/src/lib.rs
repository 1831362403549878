//! Shared library of the ServiceNow phone escalation Lambdas.
//!
//! Pure domain code (`roster`, `domain`, `phone`, `clock`) has no I/O. Adapters
//! (`twilio`, `servicenow`, `store`, `outbox`, `secrets`) sit behind traits so the
//! handlers (`handlers::*`) run the same against AWS, moto and the fakes.

pub mod clock;
pub mod domain;
pub mod phone;
pub mod roster;
