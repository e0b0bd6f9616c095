//! How fast a request body must arrive.
//!
//! A pause limit alone (the body-read timeout) lets a client hold a request open for
//! ever by sending one byte just inside each pause. So a body is also held to a minimum
//! average rate: it starts with one pause's worth of time, and every byte that arrives
//! buys `1 / min_rate` seconds more. A body that falls behind, or pauses longer than the
//! pause limit, ends with [`BodyTooSlow`], which handlers answer 408 `request_timeout`.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::{Body, Bytes};
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// The pace every request body is held to.
#[derive(Clone, Copy, Debug)]
pub struct Pace {
    /// Longest pause between two parts of a body (and the time a body starts with).
    pub pause: Duration,
    /// Bytes per second a body must average once its starting time is spent; 0 = none.
    pub min_bytes_per_second: u64,
}

/// The error a body ends with when it arrives too slowly.
#[derive(Debug)]
pub struct BodyTooSlow;

impl std::fmt::Display for BodyTooSlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body arrived too slowly")
    }
}

impl std::error::Error for BodyTooSlow {}

/// Wraps a request's body so that it is held to `pace`.
pub async fn pace_request_body(pace: Pace, request: axum::extract::Request) -> axum::extract::Request {
    request.map(|body| Body::new(PacedBody::new(body, pace)))
}

/// A body held to a [`Pace`]; the clock starts when it is first read.
pub struct PacedBody<B> {
    inner: B,
    pace: Pace,
    clock: Option<Clock>,
    received: u64,
}

/// When the first read happened, and the timer set to the current deadline.
struct Clock {
    started: Instant,
    timer: Pin<Box<Sleep>>,
}

impl<B> PacedBody<B> {
    pub fn new(inner: B, pace: Pace) -> Self {
        PacedBody { inner, pace, clock: None, received: 0 }
    }
}

impl Pace {
    /// The earlier of "one pause from now" and "when the `received` bytes stop covering
    /// the time spent since `started`".
    fn deadline(&self, started: Instant, received: u64, now: Instant) -> Instant {
        let paused_too_long = now + self.pause;
        if self.min_bytes_per_second == 0 {
            return paused_too_long;
        }
        let earned = Duration::from_secs_f64(received as f64 / self.min_bytes_per_second as f64);
        paused_too_long.min(started + self.pause + earned)
    }
}

impl<B> HttpBody for PacedBody<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let pause = this.pace.pause;
        let clock = this.clock.get_or_insert_with(|| {
            let started = Instant::now();
            Clock { started, timer: Box::pin(tokio::time::sleep_until(started + pause)) }
        });
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received = this.received.saturating_add(data.len() as u64);
                    let next = this.pace.deadline(clock.started, this.received, Instant::now());
                    clock.timer.as_mut().reset(next);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(err.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                ready!(clock.timer.as_mut().poll(cx));
                Poll::Ready(Some(Err(Box::new(BodyTooSlow))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use http_body_util::BodyExt;

    /// A body whose parts arrive `gap` apart, `size` bytes each, `parts` in all.
    fn trickle(parts: usize, size: usize, gap: Duration) -> Body {
        let stream = futures_util::stream::unfold(0, move |n| async move {
            if n == parts {
                return None;
            }
            tokio::time::sleep(gap).await;
            Some((Ok::<_, std::io::Error>(Frame::data(Bytes::from(vec![b'x'; size]))), n + 1))
        });
        Body::new(http_body_util::StreamBody::new(stream))
    }

    const PACE: Pace = Pace { pause: Duration::from_secs(30), min_bytes_per_second: 1024 };

    /// Reads the body to its end; the seconds it took and whether it ended in time.
    async fn read(body: Body, pace: Pace) -> (u64, Result<usize, bool>) {
        let start = Instant::now();
        let result = PacedBody::new(body, pace).collect().await;
        let took = start.elapsed().as_secs();
        (took, result.map(|all| all.to_bytes().len()).map_err(|err| err.is::<BodyTooSlow>()))
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_sent_one_byte_inside_each_pause_is_cut_once_its_starting_time_is_spent() {
        let (took, result) = read(trickle(100, 1, Duration::from_secs(20)), PACE).await;
        assert_eq!(result, Err(true));
        assert_eq!(took, 30, "the byte at 20 s buys 1 ms, not another pause");
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_longer_than_the_limit_ends_the_body_even_when_it_is_ahead() {
        // 64 KiB at once earns 64 s, but a 31 s silence is still a pause too long.
        let stream = futures_util::stream::iter([0u64, 31]).then(|wait| async move {
            tokio::time::sleep(Duration::from_secs(wait)).await;
            Ok::<_, std::io::Error>(Frame::data(Bytes::from(vec![b'x'; 64 * 1024])))
        });
        let (took, result) = read(Body::new(http_body_util::StreamBody::new(stream)), PACE).await;
        assert_eq!(result, Err(true));
        assert_eq!(took, 30);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_but_steady_upload_arrives_whole() {
        // 2 KiB every second for five minutes: twice the minimum rate.
        let (took, result) = read(trickle(300, 2048, Duration::from_secs(1)), PACE).await;
        assert_eq!(result, Ok(300 * 2048));
        assert_eq!(took, 300);
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_falls_behind_after_a_fast_start_is_cut_when_its_credit_runs_out() {
        // 10 KiB at once (30 s + 10 s of credit), then 100 bytes every 10 s.
        let first = futures_util::stream::once(async {
            Ok::<_, std::io::Error>(Frame::data(Bytes::from(vec![b'x'; 10 * 1024])))
        });
        let rest = futures_util::stream::unfold((), |()| async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Some((Ok::<_, std::io::Error>(Frame::data(Bytes::from(vec![b'x'; 100]))), ()))
        });
        let body = Body::new(http_body_util::StreamBody::new(first.chain(rest)));
        let (took, result) = read(body, PACE).await;
        assert_eq!(result, Err(true));
        // 30 s + (10,240 + 4 × 100) / 1,024 s: cut at 40.4 s, before the part due at 50 s.
        assert_eq!(took, 40);
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_minimum_rate_only_the_pause_counts() {
        let pace = Pace { min_bytes_per_second: 0, ..PACE };
        let (took, result) = read(trickle(10, 1, Duration::from_secs(20)), pace).await;
        assert_eq!(result, Ok(10));
        assert_eq!(took, 200);
    }
}
