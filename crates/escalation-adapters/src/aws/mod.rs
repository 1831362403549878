//! AWS: the DynamoDB table (escalations, marks, the stored policies, the bundles, the shared create
//! rate, the bridge's status callbacks), the SQS update queue and the dial queue.

pub mod bridge_log;
pub mod bundles;
pub mod dial_queue;
pub mod doc;
pub mod dynamo;
pub mod policies;
pub mod rate;
pub mod sms_offers;
pub mod sqs;

pub use bridge_log::DynamoBridgeLog;
pub use bundles::DynamoBundles;
pub use dial_queue::SqsDialQueue;
pub use dynamo::DynamoRepo;
pub use policies::{PolicyStore, StoredPolicies};
pub use rate::DynamoRate;
pub use sms_offers::DynamoSmsOffers;
pub use sqs::SqsOutbox;
