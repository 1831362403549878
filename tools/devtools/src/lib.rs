//! Dev-only tools: AWS resources on moto, event-source-mapping stand-ins, the world every
//! stack shares (`fixture`: credentials, roster, fakes, environment), the requests the
//! functions receive (`kit`: function-URL events, signed triggers and Twilio webhooks), an
//! in-process stack that drives the real Lambda handlers against the fakes, and the local
//! stack that runs the real Lambda binaries under `cargo lambda watch` (`local`), with the
//! scenario player (`play`) and the timeline both demos print (`timeline`); call-decision
//! served over HTTP as its function URL (`decision_url`).

pub mod aws;
pub mod decision_url;
pub mod esm;
pub mod fixture;
pub mod inbound_support;
pub mod kit;
pub mod local;
pub mod plan;
pub mod play;
pub mod play_bridge;
pub mod play_changes;
pub mod scenario;
pub mod stack;
pub mod timeline;
