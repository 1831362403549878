//! Stand-ins for Lambda's event source mappings (moto runs none without Docker): read
//! Kinesis and SQS like the real pollers and build the exact event JSON Lambda delivers.

use aws_sdk_kinesis::types::ShardIteratorType;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::VecDeque;

/// The stand-ins for both event source mappings of a stack: flow-events on the stream,
/// incident-updater on the update queue.
pub async fn event_sources(
    sdk: &aws_config::SdkConfig,
    resources: &crate::aws::Resources,
) -> (KinesisPoller, SqsPoller) {
    let kinesis = KinesisPoller::new(
        aws_sdk_kinesis::Client::new(sdk),
        &resources.stream_name,
        &resources.stream_arn,
    )
    .await;
    let sqs = SqsPoller::new(aws_sdk_sqs::Client::new(sdk), &resources.queue_url).await;
    (kinesis, sqs)
}

/// Reads one shard from the start and hands out batches; failed records are redelivered
/// from the lowest failed sequence number, as Lambda does with `ReportBatchItemFailures`.
pub struct KinesisPoller {
    client: aws_sdk_kinesis::Client,
    stream_name: String,
    stream_arn: String,
    iterator: Option<String>,
    pending: VecDeque<Value>,
    pub batch_size: usize,
}

impl KinesisPoller {
    pub async fn new(client: aws_sdk_kinesis::Client, stream_name: &str, stream_arn: &str) -> Self {
        let shard = client
            .list_shards()
            .stream_name(stream_name)
            .send()
            .await
            .expect("list shards")
            .shards
            .unwrap_or_default()
            .remove(0)
            .shard_id;
        let iterator = client
            .get_shard_iterator()
            .stream_name(stream_name)
            .shard_id(shard)
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .expect("shard iterator")
            .shard_iterator;
        KinesisPoller {
            client,
            stream_name: stream_name.to_string(),
            stream_arn: stream_arn.to_string(),
            iterator,
            pending: VecDeque::new(),
            batch_size: 100,
        }
    }

    async fn fill(&mut self) {
        let Some(it) = self.iterator.clone() else {
            return;
        };
        let out = self
            .client
            .get_records()
            .shard_iterator(it)
            .limit(1000)
            .send()
            .await
            .expect("get records");
        self.iterator = out.next_shard_iterator;
        for r in out.records {
            self.pending.push_back(record_json(
                &self.stream_arn,
                &r.sequence_number,
                r.partition_key.as_deref().unwrap_or_default(),
                r.data.as_ref(),
            ));
        }
    }

    /// The next batch as a Lambda Kinesis event, or `None` if the stream has nothing new.
    pub async fn next_batch(&mut self) -> Option<Value> {
        if self.pending.is_empty() {
            self.fill().await;
        }
        if self.pending.is_empty() {
            return None;
        }
        let n = self.pending.len().min(self.batch_size);
        let records: Vec<Value> = self.pending.iter().take(n).cloned().collect();
        Some(json!({ "Records": records }))
    }

    /// Acknowledge the batch last handed out, given the handler's response.
    pub fn ack(&mut self, batch: &Value, response: &Value) {
        let records = batch["Records"].as_array().map(Vec::len).unwrap_or(0);
        let failed = failed_ids(response);
        // Lambda checkpoints before the first failed record and retries from there.
        let first_failed = batch["Records"].as_array().and_then(|rs| {
            rs.iter().position(|r| {
                failed.contains(&r["kinesis"]["sequenceNumber"].as_str().unwrap_or(""))
            })
        });
        let done = first_failed.unwrap_or(records);
        self.pending.drain(..done);
    }

    pub fn stream_name(&self) -> &str {
        &self.stream_name
    }
}

/// One record in the shape Lambda's Kinesis event uses (`data` base64).
pub fn record_json(
    stream_arn: &str,
    sequence_number: &str,
    partition_key: &str,
    data: &[u8],
) -> Value {
    json!({
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key,
            "sequenceNumber": sequence_number,
            "data": base64::engine::general_purpose::STANDARD.encode(data),
            "approximateArrivalTimestamp": 1_795_255_331.0
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": format!("shardId-000000000000:{sequence_number}"),
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/flow-events",
        "awsRegion": "us-east-1",
        "eventSourceARN": stream_arn
    })
}

/// Receives from the FIFO queue like Lambda's SQS poller.
pub struct SqsPoller {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    queue_arn: String,
}

impl SqsPoller {
    pub async fn new(client: aws_sdk_sqs::Client, queue_url: &str) -> Self {
        let queue_arn = client
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("queue attributes")
            .attributes
            .unwrap_or_default()
            .remove(&QueueAttributeName::QueueArn)
            .unwrap_or_default();
        SqsPoller {
            client,
            queue_url: queue_url.to_string(),
            queue_arn,
        }
    }

    /// Up to 10 messages as a Lambda SQS event, or `None`.
    pub async fn next_batch(&self) -> Option<Value> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .expect("receive");
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            return None;
        }
        let records: Vec<Value> = messages
            .iter()
            .map(|m| {
                let attributes: serde_json::Map<String, Value> = m
                    .attributes
                    .clone()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k.as_str().to_string(), Value::String(v)))
                    .collect();
                json!({
                    "messageId": m.message_id,
                    "receiptHandle": m.receipt_handle,
                    "body": m.body,
                    "attributes": attributes,
                    "messageAttributes": {},
                    "md5OfBody": m.md5_of_body,
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.queue_arn,
                    "awsRegion": "us-east-1"
                })
            })
            .collect();
        Some(json!({ "Records": records }))
    }

    /// Delete what succeeded; make failures visible again at once (Lambda would wait for
    /// the visibility timeout; tests don't).
    pub async fn ack(&self, batch: &Value, response: &Value) {
        let failed = failed_ids(response);
        for r in batch["Records"].as_array().into_iter().flatten() {
            let handle = r["receiptHandle"].as_str().unwrap_or_default();
            if failed.contains(&r["messageId"].as_str().unwrap_or_default()) {
                let _ = self
                    .client
                    .change_message_visibility()
                    .queue_url(&self.queue_url)
                    .receipt_handle(handle)
                    .visibility_timeout(0)
                    .send()
                    .await;
            } else {
                self.client
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .expect("delete message");
            }
        }
    }

    pub async fn depth(&self) -> u64 {
        queue_depth(&self.client, &self.queue_url).await
    }
}

/// Visible + in-flight messages.
pub async fn queue_depth(client: &aws_sdk_sqs::Client, url: &str) -> u64 {
    let attrs = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .unwrap_or_default();
    [
        QueueAttributeName::ApproximateNumberOfMessages,
        QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
    ]
    .iter()
    .filter_map(|k| attrs.get(k).and_then(|v| v.parse::<u64>().ok()))
    .sum()
}

/// The `itemIdentifier`s of a `batchItemFailures` response.
pub fn failed_ids(response: &Value) -> Vec<&str> {
    response["batchItemFailures"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["itemIdentifier"].as_str())
                .collect()
        })
        .unwrap_or_default()
}
