//! Keyed rate limiting (login attempts now; flood control and API limits later).
//!
//! The generic cell rate algorithm keeps one number per key, the "theoretical arrival
//! time", so a limiter costs a few bytes per active key and allows short bursts up to
//! the quota. Written here rather than taken from `governor` because every time rule
//! in the server reads the injectable [`Clock`], and tests advance it instead of sleeping.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::clock::{Millis, SharedClock};

/// Keys above this count trigger a sweep of keys whose quota has fully recovered.
const SWEEP_THRESHOLD: usize = 10_000;

pub struct RateLimiter {
    /// Time one request "costs"; `period / quota`.
    interval_ms: Millis,
    /// How far ahead of now the arrival time may run: the burst allowance.
    period_ms: Millis,
    clock: SharedClock,
    arrivals: Mutex<HashMap<String, Millis>>,
}

impl RateLimiter {
    /// Allows `quota` requests per `period` for each key.
    pub fn new(quota: u32, period: Duration, clock: SharedClock) -> Self {
        let period_ms = period.as_millis().max(1) as Millis;
        RateLimiter {
            interval_ms: (period_ms / Millis::from(quota.max(1))).max(1),
            period_ms,
            clock,
            arrivals: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `key`'s quota is used up: its next request would be refused. Counts
    /// nothing.
    pub fn is_exhausted(&self, key: &str) -> bool {
        let now = self.clock.now_ms();
        let arrivals = self.arrivals.lock().unwrap_or_else(|poison| poison.into_inner());
        arrivals.get(key).is_some_and(|tat| tat.max(&now) + self.interval_ms - now > self.period_ms)
    }

    /// Whether `key` used any of its quota within the last `period / quota`.
    pub fn is_recent(&self, key: &str) -> bool {
        let now = self.clock.now_ms();
        let arrivals = self.arrivals.lock().unwrap_or_else(|poison| poison.into_inner());
        arrivals.get(key).is_some_and(|tat| *tat > now)
    }

    /// Counts one request for `key` whatever the quota says (a failure to remember).
    pub fn record(&self, key: &str) {
        let _ = self.check(key);
    }

    /// Counts one request for `key`; `Err(wait)` when over the quota.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        let now = self.clock.now_ms();
        let mut arrivals = self.arrivals.lock().unwrap_or_else(|poison| poison.into_inner());
        if arrivals.len() > SWEEP_THRESHOLD {
            arrivals.retain(|_, tat| *tat > now);
        }
        let tat = arrivals.get(key).copied().unwrap_or(now).max(now);
        let next = tat + self.interval_ms;
        if next - now > self.period_ms {
            let wait = next - self.period_ms - now;
            return Err(Duration::from_millis(wait.max(0) as u64));
        }
        arrivals.insert(key.to_owned(), next);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::sync::Arc;

    #[test]
    fn allows_the_quota_then_refuses_until_time_passes() {
        let clock = ManualClock::starting_at(0);
        let limiter = RateLimiter::new(3, Duration::from_secs(60), Arc::new(clock.clone()));
        for _ in 0..3 {
            assert!(limiter.check("alice").is_ok());
        }
        let wait = limiter.check("alice").unwrap_err();
        assert_eq!(wait, Duration::from_secs(20));
        // Other keys are independent.
        assert!(limiter.check("bob").is_ok());
        clock.advance(Duration::from_secs(20));
        assert!(limiter.check("alice").is_ok());
        assert!(limiter.check("alice").is_err());
    }

    #[test]
    fn peeking_counts_nothing() {
        let clock = ManualClock::starting_at(0);
        let limiter = RateLimiter::new(2, Duration::from_secs(60), Arc::new(clock.clone()));
        assert!(!limiter.is_exhausted("k") && !limiter.is_recent("k"));
        limiter.record("k");
        assert!(limiter.is_recent("k") && !limiter.is_exhausted("k"));
        limiter.record("k");
        assert!(limiter.is_exhausted("k"));
        assert!(limiter.is_exhausted("k"), "peeking twice changes nothing");
        clock.advance(Duration::from_secs(30));
        assert!(!limiter.is_exhausted("k") && limiter.is_recent("k"));
        clock.advance(Duration::from_secs(30));
        assert!(!limiter.is_recent("k"));
    }

    #[test]
    fn refused_requests_do_not_extend_the_wait() {
        let clock = ManualClock::starting_at(0);
        let limiter = RateLimiter::new(1, Duration::from_secs(10), Arc::new(clock.clone()));
        assert!(limiter.check("k").is_ok());
        for _ in 0..100 {
            assert!(limiter.check("k").is_err());
        }
        clock.advance(Duration::from_secs(10));
        assert!(limiter.check("k").is_ok());
    }
}
