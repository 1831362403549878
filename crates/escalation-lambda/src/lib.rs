//! The Lambda layer. Per function: its configuration (`config`), the clients it needs
//! (`wiring`), its start-up (`boot`) and its handler (`handlers`): decode the event, call
//! one use case, encode the answer. Each binary's `main` is `boot::<function>()` handed to
//! the Lambda runtime.

pub mod boot;
pub mod config;
pub mod handlers;
pub mod wiring;
