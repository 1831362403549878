//! AWS resources on moto server for tests and the local stack (never hand-written mocks).

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_kinesis::types::StreamStatus;
use aws_sdk_sqs::types::QueueAttributeName;
use std::time::Duration;

/// The moto endpoint: `MOTO_ENDPOINT`, else `AWS_ENDPOINT_URL`. Tests that need AWS fail
/// loudly without one (scripts/test.sh starts moto and sets it).
pub fn moto_endpoint() -> String {
    std::env::var("MOTO_ENDPOINT")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .expect("MOTO_ENDPOINT is not set: run the tests with scripts/test.sh, which starts moto server")
}

/// SDK config pointing at moto with dummy credentials.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "moto",
        ))
        .endpoint_url(endpoint)
        .load()
        .await
}

/// Names of the AWS resources one stack uses.
#[derive(Clone, Debug)]
pub struct Resources {
    pub table: String,
    pub queue_url: String,
    pub dlq_url: String,
    /// The dial queue (standard): calls the trigger asks for, for escalation-dialer.
    pub dial_queue_url: String,
    pub stream_name: String,
    pub stream_arn: String,
    pub secret_arn: String,
}

/// Create table, FIFO queue with DLQ, dial queue, stream and secret, all named with
/// `prefix`.
pub async fn create_resources(sdk: &SdkConfig, prefix: &str, secret_json: &str) -> Resources {
    let ddb = aws_sdk_dynamodb::Client::new(sdk);
    let table = format!("{prefix}-escalations");
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    let attr = |name: &str, kind: ScalarAttributeType| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(kind)
            .build()
            .unwrap()
    };
    ddb.create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr(
            escalation_adapters::aws::dynamo::KEY,
            ScalarAttributeType::S,
        ))
        .attribute_definitions(attr(
            escalation_adapters::aws::dynamo::ACTIVE_ATTRIBUTE,
            ScalarAttributeType::S,
        ))
        .attribute_definitions(attr("updated_at", ScalarAttributeType::N))
        .key_schema(key(escalation_adapters::aws::dynamo::KEY, KeyType::Hash))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(escalation_adapters::aws::dynamo::ACTIVE_INDEX)
                .key_schema(key(
                    escalation_adapters::aws::dynamo::ACTIVE_ATTRIBUTE,
                    KeyType::Hash,
                ))
                .key_schema(key("updated_at", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::KeysOnly)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create table");
    ddb.update_time_to_live()
        .table_name(&table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(escalation_adapters::aws::dynamo::TTL_ATTRIBUTE)
                .enabled(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("enable TTL");

    let sqs = aws_sdk_sqs::Client::new(sdk);
    let dlq_url = sqs
        .create_queue()
        .queue_name(format!("{prefix}-sn-updates-dlq.fifo"))
        .attributes(QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .expect("create DLQ")
        .queue_url
        .unwrap();
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone();
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("{prefix}-sn-updates.fifo"))
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::VisibilityTimeout, "30")
        .attributes(
            QueueAttributeName::RedrivePolicy,
            format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"5"}}"#),
        )
        .send()
        .await
        .expect("create queue")
        .queue_url
        .unwrap();

    let dial_queue_url = sqs
        .create_queue()
        .queue_name(format!("{prefix}-dials"))
        // As template.yaml: a dial may wait for its create slot a while in a storm.
        .attributes(QueueAttributeName::VisibilityTimeout, "270")
        .send()
        .await
        .expect("create dial queue")
        .queue_url
        .unwrap();

    let kinesis = aws_sdk_kinesis::Client::new(sdk);
    let stream_name = format!("{prefix}-flow-events");
    kinesis
        .create_stream()
        .stream_name(&stream_name)
        .shard_count(1)
        .send()
        .await
        .expect("create stream");
    let stream_arn = loop {
        let s = kinesis
            .describe_stream_summary()
            .stream_name(&stream_name)
            .send()
            .await
            .expect("describe stream")
            .stream_description_summary
            .unwrap();
        if s.stream_status == StreamStatus::Active {
            break s.stream_arn;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    let secret_arn = aws_sdk_secretsmanager::Client::new(sdk)
        .create_secret()
        .name(format!("{prefix}-secrets"))
        .secret_string(secret_json)
        .send()
        .await
        .expect("create secret")
        .arn
        .unwrap();
    Resources {
        table,
        queue_url,
        dlq_url,
        dial_queue_url,
        stream_name,
        stream_arn,
        secret_arn,
    }
}
