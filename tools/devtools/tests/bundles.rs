//! The bundle store and delayed dial requests on moto server (MOTO_ENDPOINT).

use aws_sdk_dynamodb::types::AttributeValue;
use escalation_adapters::aws::{DynamoBundles, SqsDialQueue};
use escalation_core::bundle::{Bundle, BundleStore, Member};
use escalation_core::model::{E164, EscalationId, SysId};
use escalation_core::ports::{DialQueue, DialRequest, RepoError};
use escalation_devtools::aws::{Resources, create_resources, moto_endpoint, sdk_config};

async fn stack(prefix: &str) -> (aws_config::SdkConfig, Resources) {
    let sdk = sdk_config(&moto_endpoint()).await;
    let prefix = format!("{prefix}-{}", fastrand::u32(..));
    let resources = create_resources(&sdk, &prefix, "{}").await;
    (sdk, resources)
}

fn member(i: u32) -> Member {
    Member {
        sys_id: SysId::parse(&format!("{i:032x}")).unwrap(),
        escalation_id: EscalationId::new(format!("ESC-{i:012x}")),
        attempt: 1,
    }
}

fn bundle(phone: &E164, id: &str, members: u32) -> Bundle {
    Bundle {
        id: id.into(),
        phone: phone.clone(),
        opened_at: 1_700_000_000_000,
        closes_at: 1_700_000_060_000,
        members: (1..=members).map(member).collect(),
        closed_at: None,
    }
}

#[tokio::test]
async fn bundles_open_race_close_and_are_replaced() {
    let (sdk, res) = stack("bun").await;
    let store = DynamoBundles::new(aws_sdk_dynamodb::Client::new(&sdk), &res.table);
    let phone = E164::parse("+41791234567").unwrap();
    assert_eq!(store.load(&phone).await.unwrap(), None);

    // Two openers race: exactly one wins.
    let (x, y) = (bundle(&phone, "ESC-a/1", 1), bundle(&phone, "ESC-b/1", 1));
    let (a, b) = tokio::join!(store.save(&x, 0), store.save(&y, 0));
    assert_eq!(
        [&a, &b].iter().filter(|r| r.is_ok()).count(),
        1,
        "{a:?} {b:?}"
    );
    assert!([&a, &b].contains(&&Err(RepoError::Conflict { expected: 0 })));
    let opened = store.load(&phone).await.unwrap().unwrap();
    assert_eq!(opened.version, 1);
    let id = opened.bundle.id.clone();

    // Two joiners race on version 1: one wins, the other conflicts.
    let (x, y) = (bundle(&phone, &id, 2), bundle(&phone, &id, 3));
    let (a, b) = tokio::join!(store.save(&x, 1), store.save(&y, 1));
    assert_eq!([&a, &b].iter().filter(|r| r.is_ok()).count(), 1);
    assert!([&a, &b].contains(&&Err(RepoError::Conflict { expected: 1 })));
    let grown = store.load(&phone).await.unwrap().unwrap();
    assert_eq!(grown.version, 2);
    assert!(matches!(grown.bundle.members.len(), 2 | 3));

    // Closed, then replaced by a new bundle.
    let mut closed = grown.bundle.clone();
    closed.closed_at = Some(1_700_000_060_500);
    store.save(&closed, 2).await.unwrap();
    assert_eq!(
        store.load(&phone).await.unwrap().unwrap().bundle,
        closed.clone()
    );
    let next = bundle(&phone, "ESC-c/2", 1);
    assert_eq!(
        store.save(&next, 2).await,
        Err(RepoError::Conflict { expected: 2 })
    );
    store.save(&next, 3).await.unwrap();
    let stored = store.load(&phone).await.unwrap().unwrap();
    assert_eq!((stored.bundle, stored.version), (next.clone(), 4));

    // The item expires a day after the window ends.
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let item = ddb
        .get_item()
        .table_name(&res.table)
        .key("pk", AttributeValue::S("bun#+41791234567".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(
        item["ttl"].as_n().unwrap(),
        &(next.closes_at / 1000 + 86_400).to_string()
    );
}

#[tokio::test]
async fn an_unreadable_bundle_is_corrupt_without_the_full_number() {
    let (sdk, res) = stack("bunbad").await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    ddb.put_item()
        .table_name(&res.table)
        .item("pk", AttributeValue::S("bun#+41791234567".into()))
        .item("version", AttributeValue::N("3".into()))
        .item("doc", AttributeValue::S("{not json".into()))
        .send()
        .await
        .unwrap();
    let store = DynamoBundles::new(ddb, &res.table);
    let phone = E164::parse("+41791234567").unwrap();
    match store.load(&phone).await {
        Err(RepoError::Corrupt(problem)) => {
            assert!(problem.contains(&phone.masked()), "{problem}");
            assert!(!problem.contains("41791234567"), "{problem}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[tokio::test]
async fn a_delayed_dial_request_arrives_after_its_delay() {
    let (sdk, res) = stack("dialdelay").await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = SqsDialQueue::new(sqs.clone(), &res.dial_queue_url);
    let dial = DialRequest {
        sys_id: SysId::parse("0123456789abcdef0123456789abcdef").unwrap(),
        escalation_id: EscalationId::new("ESC-0123456789ab"),
        attempt: 1,
    };
    queue.request_after(&dial, 2).await.unwrap();
    let receive = || {
        sqs.receive_message()
            .queue_url(&res.dial_queue_url)
            .max_number_of_messages(10)
            .send()
    };
    let now = receive().await.unwrap();
    assert!(now.messages().is_empty(), "received before the delay");
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    let later = receive().await.unwrap();
    let bodies: Vec<_> = later.messages().iter().filter_map(|m| m.body()).collect();
    assert_eq!(
        bodies,
        [escalation_adapters::aws::dial_queue::encode(&dial)]
    );
}
