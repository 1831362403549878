//! Property-based fuzzing of everything that reads untrusted input: the trigger body
//! parser, the signature check, the Kinesis record decoder, the roster loader and the
//! phone masking. No input may panic; accepted input must satisfy the documented rules.
//!
//! CI runs a bounded number of cases; run longer by hand:
//! `PROPTEST_CASES=200000 cargo test --release -p escalation-lambda --test fuzz`

use base64::Engine;
use escalation_adapters::signing::{MAX_SKEW_SECS, SigningKey};
use escalation_adapters::twilio::event_stream::{KinesisBatch, decode};
use escalation_core::model::E164;
use escalation_core::model::phone::mask_all;
use escalation_lambda::handlers::trigger::parse_body;
use proptest::prelude::*;
use serde_json::{Value, json};

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

fn key() -> SigningKey {
    SigningKey::from_base64("bG9jYWwtc3RhY2stc2hhcmVkLWtleS0zMi1ieXRlcyE=").unwrap()
}

/// Arbitrary JSON values, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        "[0-9a-fA-F]{30,34}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::hash_map("[a-z_]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Trigger bodies that look like the real thing, with each field sometimes wrong.
fn trigger_object() -> impl Strategy<Value = Value> {
    let field = |good: BoxedStrategy<Value>| prop_oneof![3 => good, 1 => json_value()].boxed();
    (
        field("[0-9a-f]{32}".prop_map(Value::String).boxed()),
        field("INC[0-9]{7}".prop_map(Value::String).boxed()),
        field(".{0,200}".prop_map(Value::String).boxed()),
        field(prop_oneof![Just(json!("1")), Just(json!(2)), Just(json!("5"))].boxed()),
        proptest::option::of(json_value()),
    )
        .prop_map(|(sys_id, number, desc, priority, group)| {
            let mut m = serde_json::Map::new();
            m.insert("sys_id".into(), sys_id);
            m.insert("number".into(), number);
            m.insert("short_description".into(), desc);
            m.insert("priority".into(), priority);
            if let Some(g) = group {
                m.insert("assignment_group".into(), g);
            }
            Value::Object(m)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn trigger_parser_never_panics_on_bytes(ct in prop_oneof![Just(String::new()), Just("application/json".to_string()), Just("application/x-www-form-urlencoded".to_string()), ".{0,30}"],
                                            body in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(i) = parse_body(&ct, &body) {
            prop_assert!(i.sys_id.as_str().len() == 32 && i.sys_id.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
            prop_assert!(matches!(i.priority.as_str(), "1" | "2" | "3" | "4" | "5"));
            prop_assert!(!i.number.is_empty() && i.number.len() <= 40);
        }
    }

    #[test]
    fn trigger_parser_accepts_exactly_the_valid_objects(obj in trigger_object()) {
        let text = obj.to_string();
        // Strings and numbers are both accepted as field values (ServiceNow sends strings;
        // hand-written callers send numbers); anything else is refused.
        let text_of = |v: &Value| match v {
            Value::String(s) => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let valid = text_of(&obj["sys_id"]).is_some_and(|s| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()))
            && text_of(&obj["number"]).is_some_and(|s| !s.is_empty() && s.len() <= 40 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            && text_of(&obj["short_description"]).is_some_and(|s| s.chars().count() <= 1000)
            && text_of(&obj["priority"]).is_some_and(|s| matches!(s.as_str(), "1" | "2" | "3" | "4" | "5"))
            && match obj.get("assignment_group") {
                None | Some(Value::Null) => true,
                Some(v) => text_of(v).is_some_and(|s| s.len() <= 100),
            };
        let result = parse_body("application/json", text.as_bytes());
        prop_assert_eq!(result.is_ok(), valid, "{} -> {:?}", text, result);
    }

    #[test]
    fn signature_check_never_panics_and_accepts_only_genuine(ts in proptest::option::of(".{0,16}"), sig in proptest::option::of(".{0,64}"),
                                                              body in prop::collection::vec(any::<u8>(), 0..256), now in any::<i64>()) {
        let k = key();
        let r = k.verify(ts.as_deref(), sig.as_deref(), &body, now);
        if r.is_ok() {
            let ts = ts.unwrap();
            prop_assert_eq!(k.sign(ts.trim(), &body), sig.unwrap().trim().to_string());
        }
    }

    #[test]
    fn signed_requests_verify_and_any_change_breaks_them(body in prop::collection::vec(any::<u8>(), 1..256), ts in 1_000_000_000i64..4_000_000_000,
                                                          skew in -MAX_SKEW_SECS..=MAX_SKEW_SECS, flip in any::<prop::sample::Index>(), bit in 0u8..8) {
        let k = key();
        let sig = k.sign(&ts.to_string(), &body);
        prop_assert_eq!(k.verify(Some(&ts.to_string()), Some(&sig), &body, ts + skew), Ok(ts));
        let mut tampered = body.clone();
        let i = flip.index(tampered.len());
        tampered[i] ^= 1 << bit;
        prop_assert!(k.verify(Some(&ts.to_string()), Some(&sig), &tampered, ts).is_err());
        prop_assert!(k.verify(Some(&ts.to_string()), Some(&sig), &body, ts + MAX_SKEW_SECS + 1 + skew.abs()).is_err());
    }

    #[test]
    fn kinesis_decoder_never_panics(event in json_value(), data in prop::collection::vec(any::<u8>(), 0..512), text in ".{0,200}") {
        if let Ok(batch) = serde_json::from_value::<KinesisBatch>(event) {
            for r in &batch.records {
                if let Ok(bytes) = r.kinesis.bytes() {
                    let _ = decode(&bytes).map(|ev| ev.execution_ended());
                }
            }
        }
        let _ = decode(&data).map(|ev| ev.execution_ended());
        let _ = decode(text.as_bytes()).map(|ev| ev.execution_ended());
        let record: KinesisBatch = serde_json::from_value(json!({"Records": [{"kinesis": {"sequenceNumber": "1", "data": text}}]})).unwrap();
        let _ = record.records[0].kinesis.bytes();
    }

    #[test]
    fn cloudevents_with_arbitrary_data_decode_both_ways(id in "[A-Z]{2}[0-9a-f]{32}", data in json_value()) {
        for d in [data.clone(), Value::String(data.to_string())] {
            let ev = json!({"specversion": "1.0", "type": "com.twilio.studio.flow.execution.ended", "id": id, "data": d});
            let bytes = serde_json::to_vec(&ev).unwrap();
            let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
            let batch: KinesisBatch = serde_json::from_value(json!({"Records": [{"kinesis": {"sequenceNumber": "1", "data": b64}}]})).unwrap();
            let decoded = decode(&batch.records[0].kinesis.bytes().unwrap());
            if data.is_object() {
                let ev = decoded.unwrap();
                prop_assert_eq!(&ev.id, &id);
                let _ = ev.execution_ended();
            }
        }
    }

    #[test]
    fn roster_loader_never_panics(text in ".{0,300}", value in json_value()) {
        let _ = escalation_core::model::Roster::from_json(&text);
        let _ = escalation_core::model::Roster::from_json(&value.to_string());
    }

    #[test]
    fn masking_leaves_no_full_number(prefix in ".{0,20}", digits in "[1-9][0-9]{7,14}", suffix in "[^0-9].{0,20}|") {
        let text = format!("{prefix}+{digits}{suffix}");
        let masked = mask_all(&text);
        prop_assert!(!masked.contains(&digits), "{} -> {}", text, masked);
        if let Ok(n) = E164::parse(&format!("+{digits}")) {
            prop_assert!(!n.masked().contains(&digits));
            let debug = format!("{:?}", n);
            prop_assert!(!debug.contains(&digits));
        }
    }
}
