use super::*;

fn phone() -> E164 {
    E164::parse("+15550100001").unwrap()
}

fn member(n: u8) -> Member {
    Member {
        sys_id: SysId::parse(&format!("{n:032x}")).unwrap(),
        escalation_id: EscalationId::new(format!("esc-{n}")),
        attempt: 1,
    }
}

const SETTINGS: BundleSettings = BundleSettings {
    window_ms: 10_000,
    max_size: 3,
};

fn opened(at: u64) -> Bundle {
    match Bundle::join(None, &phone(), &member(1), at, &SETTINGS) {
        Join::Open(b) => b,
        other => panic!("expected a new bundle, got {other:?}"),
    }
}

#[test]
fn the_first_call_opens_a_bundle_that_closes_when_the_window_ends() {
    let b = opened(1_000);
    assert_eq!(b.closes_at, 11_000);
    assert_eq!(b.members, vec![member(1)]);
    assert_eq!(b.id, "esc-1/1");
    assert_eq!(b.closed_at, None);
}

#[test]
fn calls_to_the_same_person_join_until_the_bundle_is_full() {
    let mut b = opened(1_000);
    for n in 2..=3 {
        match Bundle::join(Some(&b), &phone(), &member(n), 5_000, &SETTINGS) {
            Join::Add(grown) => b = grown,
            other => panic!("member {n}: {other:?}"),
        }
    }
    assert_eq!(b.members.len(), 3);
    assert_eq!(
        Bundle::join(Some(&b), &phone(), &member(4), 5_000, &SETTINGS),
        Join::Alone,
        "a full bundle sends the fourth call alone"
    );
}

#[test]
fn joining_again_is_a_retry_and_writes_nothing() {
    let b = opened(1_000);
    assert_eq!(
        Bundle::join(Some(&b), &phone(), &member(1), 2_000, &SETTINGS),
        Join::Member {
            bundle: b.clone(),
            opener: true
        }
    );
}

#[test]
fn a_closed_bundle_takes_nobody_and_the_next_call_opens_a_new_one() {
    let b = opened(1_000);
    let Close::Close(closed) = Bundle::close(Some(&b), &b.id, 11_000) else {
        panic!("expected to close it")
    };
    match Bundle::join(Some(&closed), &phone(), &member(2), 11_001, &SETTINGS) {
        Join::Open(new) => {
            assert_eq!(new.members, vec![member(2)]);
            assert_eq!(new.closes_at, 21_001);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_open_bundle_whose_opener_never_closed_it_is_replaced() {
    let b = opened(1_000);
    let late = b.closes_at + STALE_AFTER_MS;
    assert!(matches!(
        Bundle::join(Some(&b), &phone(), &member(2), late - 1, &SETTINGS),
        Join::Add(_)
    ));
    assert!(matches!(
        Bundle::join(Some(&b), &phone(), &member(2), late, &SETTINGS),
        Join::Open(_)
    ));
}

#[test]
fn closing_twice_or_closing_a_replaced_bundle_says_so() {
    let b = opened(1_000);
    let Close::Close(closed) = Bundle::close(Some(&b), &b.id, 11_000) else {
        panic!("expected to close it")
    };
    assert_eq!(closed.closed_at, Some(11_000));
    assert_eq!(
        Bundle::close(Some(&closed), &b.id, 12_000),
        Close::Already { closed_at: 11_000 }
    );
    assert_eq!(Bundle::close(Some(&closed), "other/1", 12_000), Close::Gone);
    assert_eq!(Bundle::close(None, &b.id, 12_000), Close::Gone);
}

#[test]
fn a_zero_window_turns_bundling_off() {
    assert_eq!(BundleSettings::window_secs(0), None);
    assert_eq!(
        BundleSettings::window_secs(15).map(|s| s.window_ms),
        Some(15_000)
    );
}
