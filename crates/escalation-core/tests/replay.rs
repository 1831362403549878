//! The replay guard: a signed trigger request is admitted once.

mod support;

use escalation_core::usecase::Replay;
use support::*;

#[tokio::test]
async fn a_signed_request_is_admitted_once() {
    let s = Scenario::new();
    let guard = s.m.replay_guard();
    guard.admit("c2lnbmF0dXJlLTE=").await.unwrap();
    let again = guard.admit("c2lnbmF0dXJlLTE=").await;
    assert!(matches!(again, Err(Replay::Replayed)), "{again:?}");
    let padded = guard.admit(" c2lnbmF0dXJlLTE=\n").await;
    assert!(
        matches!(padded, Err(Replay::Replayed)),
        "the same signature: {padded:?}"
    );
    guard.admit("c2lnbmF0dXJlLTI=").await.unwrap();
}

#[tokio::test]
async fn a_request_that_could_not_be_checked_is_refused_and_admitted_when_sent_again() {
    let s = Scenario::new();
    let guard = s.m.replay_guard();
    s.m.marks.fail(1);
    let down = guard.admit("c2lnbmF0dXJlLTM=").await;
    assert!(matches!(down, Err(Replay::Unavailable(_))), "{down:?}");
    guard.admit("c2lnbmF0dXJlLTM=").await.unwrap();
}
