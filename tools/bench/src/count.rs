//! The AWS round trips the functions make, counted and timed where they leave the process:
//! an HTTP client for the functions' SDK configuration that records every request it sends
//! (retries included, each is a round trip) by operation, and for DynamoDB by the kind of
//! item (`sig#`, `esc#`, `evt#`, … from the key's prefix).

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Every request sent, by label (`DynamoDB PutItem sig#`, `SQS SendMessage`), with how long
/// each took from sending to the whole answer received.
#[derive(Clone, Debug, Default)]
pub struct Calls(Arc<Mutex<BTreeMap<String, Vec<Duration>>>>);

impl Calls {
    /// What was recorded so far.
    pub fn snapshot(&self) -> BTreeMap<String, Vec<Duration>> {
        self.0.lock().expect("calls").clone()
    }

    /// Forget what was recorded (the setup's requests).
    pub fn reset(&self) {
        self.0.lock().expect("calls").clear();
    }

    /// How many requests per label.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        self.snapshot()
            .into_iter()
            .map(|(k, v)| (k, v.len()))
            .collect()
    }

    fn record(&self, label: String, took: Duration) {
        self.0
            .lock()
            .expect("calls")
            .entry(label)
            .or_default()
            .push(took);
    }
}

/// `sdk` with an HTTP client that records into the returned [`Calls`]. Plain HTTP only (the
/// bench talks to moto).
pub fn counting(sdk: &SdkConfig) -> (SdkConfig, Calls) {
    let calls = Calls::default();
    (counting_into(sdk, &calls), calls)
}

/// `sdk` with its own HTTP client (its own connections) that records into `calls`.
pub fn counting_into(sdk: &SdkConfig, calls: &Calls) -> SdkConfig {
    let client = Counting {
        inner: aws_smithy_http_client::Builder::new().build_http(),
        calls: calls.clone(),
    };
    sdk.to_builder().http_client(client).build()
}

#[derive(Debug)]
struct Counting {
    inner: SharedHttpClient,
    calls: Calls,
}

impl HttpClient for Counting {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(CountingConnector {
            inner: self.inner.http_connector(settings, components),
            calls: self.calls.clone(),
        })
    }
}

#[derive(Debug)]
struct CountingConnector {
    inner: SharedHttpConnector,
    calls: Calls,
}

impl HttpConnector for CountingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let label = label(
            request.headers().get("x-amz-target"),
            request.body().bytes(),
        );
        let calls = self.calls.clone();
        let sent = self.inner.call(request);
        HttpConnectorFuture::new(async move {
            let t = Instant::now();
            let answer = sent.await;
            calls.record(label, t.elapsed());
            answer
        })
    }
}

/// `DynamoDB_20120810.PutItem` + a body whose key is `sig#…` → `DynamoDB PutItem sig#`;
/// `AmazonSQS.SendMessage` → `SQS SendMessage`.
pub fn label(target: Option<&str>, body: Option<&[u8]>) -> String {
    let Some((service, op)) = target.and_then(|t| t.split_once('.')) else {
        return "other".into();
    };
    let service = match service {
        s if s.starts_with("DynamoDB") => "DynamoDB",
        "AmazonSQS" => "SQS",
        s if s.starts_with("Kinesis") => "Kinesis",
        s => s,
    };
    match (service, body.and_then(key_kind)) {
        ("DynamoDB", Some(kind)) => format!("DynamoDB {op} {kind}"),
        _ => format!("{service} {op}"),
    }
}

/// The prefix of the item's `pk` (in `Item` or `Key`), up to its first `#`. A plain search
/// of the SDK's compact JSON, not a parse: it runs on the measured handler's thread.
fn key_kind(body: &[u8]) -> Option<String> {
    const PK: &[u8] = br#""pk":{"S":""#;
    let at = body.windows(PK.len()).position(|w| w == PK)? + PK.len();
    let rest = &body[at..];
    let end = rest.iter().position(|&b| b == b'#' || b == b'"')?;
    (rest[end] == b'#').then(|| String::from_utf8_lossy(&rest[..=end]).into_owned())
}

/// The Twilio fake's recorded requests by method and last path segment (`GET Context`,
/// `POST Executions`).
pub fn twilio_labels(
    requests: &[escalation_fakes::record::RecordedRequest],
) -> BTreeMap<String, usize> {
    let mut by = BTreeMap::new();
    for r in requests {
        let mut parts = r.path.rsplit('/');
        let last = parts.next().unwrap_or("");
        // A resource's sid (two capitals and 32 hex): name its collection instead.
        let is_sid = last.len() == 34 && last[..2].chars().all(|c| c.is_ascii_uppercase());
        let what = if is_sid {
            format!("{}/{{sid}}", parts.next().unwrap_or(""))
        } else {
            last.to_string()
        };
        *by.entry(format!("{} {what}", r.method)).or_insert(0) += 1;
    }
    by
}

#[cfg(test)]
mod tests {
    use super::label;

    #[test]
    fn labels_name_the_operation_and_the_kind_of_item() {
        let put = br#"{"TableName":"t","Item":{"pk":{"S":"sig#abc"}}}"#;
        assert_eq!(
            label(Some("DynamoDB_20120810.PutItem"), Some(put)),
            "DynamoDB PutItem sig#"
        );
        let get = br#"{"TableName":"t","Key":{"pk":{"S":"esc#0123"}}}"#;
        assert_eq!(
            label(Some("DynamoDB_20120810.GetItem"), Some(get)),
            "DynamoDB GetItem esc#"
        );
        assert_eq!(
            label(Some("DynamoDB_20120810.Query"), Some(b"{}")),
            "DynamoDB Query"
        );
        assert_eq!(
            label(Some("AmazonSQS.SendMessage"), None),
            "SQS SendMessage"
        );
        assert_eq!(label(None, None), "other");
    }
}
