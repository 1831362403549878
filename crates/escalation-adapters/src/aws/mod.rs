//! AWS: the DynamoDB table (escalations, marks and the stored policies) and the SQS
//! update queue.

pub mod doc;
pub mod dynamo;
pub mod policies;
pub mod sqs;

pub use dynamo::DynamoRepo;
pub use policies::{PolicyStore, StoredPolicies};
pub use sqs::SqsOutbox;
