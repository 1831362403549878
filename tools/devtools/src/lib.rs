//! Dev-only tools: AWS resources on moto, event-source-mapping stand-ins, and an
//! in-process stack that drives the real Lambda handlers against the fakes.

pub mod aws;
pub mod esm;
pub mod scenario;
pub mod stack;
