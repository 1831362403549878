use super::*;

#[test]
fn sweep_actions() {
    let mut e = start_with(&["A", "B"], &["X"], Policy::default());
    let started = e.current().unwrap().started_at;
    assert_eq!(
        e.sweep_action(started + 1_000, 30_000),
        None,
        "fresh DIALING is left to the normal path"
    );
    assert_eq!(
        e.sweep_action(started + 30_000, 30_000),
        Some(SweepAction::Dial)
    );
    e.record_execution(1, &sid(1), started + 100).unwrap();
    assert_eq!(
        e.sweep_action(started + 59_000, 30_000),
        None,
        "still within ring timeout + grace"
    );
    assert_eq!(
        e.sweep_action(started + 61_000, 30_000),
        Some(SweepAction::CheckExecution {
            attempt: 1,
            sid: sid(1),
            overdue_ms: 1_000
        })
    );
    e.on_call_ended(1, Some(&sid(1)), CallOutcome::Accepted, started + 5_000)
        .unwrap();
    assert_eq!(
        e.sweep_action(started + 999_000, 30_000),
        None,
        "terminal escalations are never swept"
    );
}

#[test]
fn a_waiting_attempt_is_swept_when_its_wait_is_over() {
    let mut e = start_with(&["A"], &["X"], Policy::default());
    end(&mut e, CallOutcome::OnAnotherCall);
    end(&mut e, CallOutcome::Passed);
    let nb = e.current().unwrap().not_before.unwrap();
    assert_eq!(e.sweep_action(nb - 1, 0), None);
    assert_eq!(e.sweep_action(nb, 0), Some(SweepAction::Dial));
}

#[test]
fn only_one_dialer_wins_the_lease_on_an_attempt() {
    let e = start_with(&["A", "B"], &["X"], Policy::default());
    let t0 = e.current().unwrap().started_at;
    // Two dialers load the same version; the first claim is saved, the second dialer's
    // conditional write fails, it reloads and finds the lease.
    let mut first = e.clone();
    first.claim_dial(1, t0 + 10, 30_000).unwrap();
    let mut second = first.clone();
    assert_eq!(
        second.claim_dial(1, t0 + 20, 30_000),
        Err(Ignored::Leased {
            attempt: 1,
            until: t0 + 30_010
        })
    );
    assert!(first.current().unwrap().is_leased(t0 + 30_009));
    assert!(!first.current().unwrap().is_leased(t0 + 30_010));
    assert_eq!(first.current().unwrap().dial_claims, 1);
    // An expired lease (its holder died) can be taken over; the count says someone tried
    // before, so the new holder looks for a call the dead one may have placed.
    second.claim_dial(1, t0 + 30_010, 30_000).unwrap();
    assert_eq!(
        second.current().unwrap().dial_lease_until,
        Some(t0 + 60_010)
    );
    assert_eq!(second.current().unwrap().dial_claims, 2);
}

#[test]
fn a_placed_or_stale_attempt_cannot_be_claimed() {
    let mut e = start_with(&["A", "B"], &["X"], Policy::default());
    let t0 = e.current().unwrap().started_at;
    assert_eq!(
        e.clone().claim_dial(2, t0, 1_000),
        Err(Ignored::NotCurrent {
            event_attempt: 2,
            current: Some(1)
        })
    );
    e.claim_dial(1, t0, 1_000).unwrap();
    e.record_execution(1, &sid(1), t0 + 5).unwrap();
    assert_eq!(
        e.current().unwrap().dial_lease_until,
        None,
        "the lease ends with the call placed"
    );
    assert_eq!(
        e.clone().claim_dial(1, t0 + 10, 1_000),
        Err(Ignored::NotDialing { attempt: 1 })
    );
    e.on_call_ended(1, Some(&sid(1)), CallOutcome::Accepted, t0 + 20)
        .unwrap();
    assert_eq!(
        e.claim_dial(1, t0 + 30, 1_000),
        Err(Ignored::Finished(Status::Accepted))
    );
}

#[test]
fn a_released_lease_frees_the_attempt_but_only_the_holder_releases() {
    let mut e = start_with(&["A"], &["X"], Policy::default());
    let t0 = e.current().unwrap().started_at;
    e.claim_dial(1, t0, 30_000).unwrap();
    assert!(!e.release_dial(1, t0 + 1), "not our lease");
    assert!(e.current().unwrap().is_leased(t0 + 1));
    assert!(e.release_dial(1, t0 + 30_000));
    e.claim_dial(1, t0 + 2, 30_000).unwrap();
    assert_eq!(
        e.current().unwrap().dial_claims,
        2,
        "a released claim still counts: its create may have reached Twilio"
    );
}

#[test]
fn the_sweeper_never_dials_under_a_running_lease() {
    let mut e = start_with(&["A", "B"], &["X"], Policy::default());
    let t0 = e.current().unwrap().started_at;
    // The trigger waited for the Twilio rate limit, then claimed late: the grace period is
    // over, but the claim is fresh, so the sweeper keeps away until it expires.
    e.claim_dial(1, t0 + 29_000, 30_000).unwrap();
    assert_eq!(e.sweep_action(t0 + 30_000, 30_000), None);
    assert_eq!(e.sweep_action(t0 + 58_999, 30_000), None);
    assert_eq!(e.sweep_action(t0 + 59_000, 30_000), Some(SweepAction::Dial));
}
