//! Two steps at once: wait for both and give back both results (no executor, no
//! dependency; whichever finishes first waits for the other).

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;

/// Run `a` and `b` concurrently on the caller's task; both always run to completion, so an
/// error from one never cancels the other.
pub(super) async fn both<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut ra, mut rb) = (None, None);
    poll_fn(move |cx| {
        if ra.is_none()
            && let Poll::Ready(v) = a.as_mut().poll(cx)
        {
            ra = Some(v);
        }
        if rb.is_none()
            && let Poll::Ready(v) = b.as_mut().poll(cx)
        {
            rb = Some(v);
        }
        match (ra.take(), rb.take()) {
            (Some(x), Some(y)) => Poll::Ready((x, y)),
            (x, y) => {
                (ra, rb) = (x, y);
                Poll::Pending
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::both;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn both_run_at_once_and_both_finish() {
        let start = tokio::time::Instant::now();
        let slow = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Err::<(), _>("failed")
        };
        let fast = async {
            tokio::time::sleep(Duration::from_millis(60)).await;
            7
        };
        let (a, b) = both(slow, fast).await;
        assert_eq!((a, b), (Err("failed"), 7));
        assert_eq!(
            start.elapsed(),
            Duration::from_millis(100),
            "not 160 ms in a row"
        );
    }
}
