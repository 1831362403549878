//! AWS: the DynamoDB table (escalations and marks) and the SQS update queue.

pub mod doc;
pub mod dynamo;
pub mod sqs;

pub use dynamo::DynamoRepo;
pub use sqs::SqsOutbox;
