//! Dev-only HTTP fakes of the two external services the escalation pipeline talks to:
//!
//! * [`servicenow`]: the ServiceNow REST Table API (`/api/now/table/...`), with journal
//!   fields, encoded queries and the documented error envelopes;
//! * [`twilio`]: Twilio Studio v2 executions with simulated agents that answer, press digits,
//!   hang up, do not answer, ... and emit the Event Streams CloudEvents (optionally onto a
//!   Kinesis stream, as a Twilio Kinesis sink would), plus the provisioning APIs (Studio
//!   Flows with Validate, Event Streams sinks and subscriptions).
//!
//! Both fakes record every request ([`RecordedRequest`]) and support fault injection
//! ([`fault::FaultRule`]). Both also expose their controls over HTTP under `/__fake/...` so
//! a fake running as a separate process can be driven by a local stack.

pub mod fault;
pub mod record;
pub mod servicenow;
pub mod twilio;

mod traffic;
mod util;

pub use fault::FaultRule;
pub use record::RecordedRequest;
pub use servicenow::{ServiceNowFake, ServiceNowHandle};
pub use twilio::events_api::{SinkRecord, SubscribedEventRecord, SubscriptionRecord};
pub use twilio::flows::FlowRecord;
pub use twilio::{
    AgentStep, EventSink, ExecutionRecord, TwilioFake, TwilioFakeConfig, TwilioHandle,
};
