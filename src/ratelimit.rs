//! Keyed rate limiting: login attempts, registrations, flood control.
//!
//! The generic cell rate algorithm keeps one number per key, the "theoretical arrival
//! time", so a limiter costs a few bytes per active key and allows short bursts up to
//! the quota. Written here rather than taken from `governor` because every time rule
//! in the server reads the injectable [`Clock`], and tests advance it instead of sleeping.
//!
//! Several instances share their limits through Redis ([`SharedRateLimiter`]): the same
//! number per key, kept in Redis and moved by one script, so a client spreading its
//! attempts over instances gets no more. When Redis does not answer at once, each
//! instance falls back to its own count.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;

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
        self.exhausted_at(arrivals.get(key).copied(), now)
    }

    /// Whether a key with arrival time `tat` has its quota used up at `now`.
    fn exhausted_at(&self, tat: Option<Millis>, now: Millis) -> bool {
        tat.is_some_and(|tat| tat.max(now) + self.interval_ms - now > self.period_ms)
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

/// How long a shared limit may wait for Redis before the local count decides.
const REDIS_DEADLINE: Duration = Duration::from_millis(300);
/// After Redis failed to answer, how long limits stay local before trying it again.
const REDIS_COOL_DOWN: Duration = Duration::from_secs(2);

/// Moves one key's arrival time by one request, if the quota allows: answers -1, or the
/// milliseconds to wait.
const CHECK_SCRIPT: &str = r"
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local nxt = tat + interval
if nxt - now > period then return nxt - period - now end
redis.call('SET', KEYS[1], nxt, 'PX', nxt - now)
return -1
";

/// The Redis that instances share their limits through.
pub struct SharedCounters {
    client: redis::Client,
    conn: tokio::sync::Mutex<Option<ConnectionManager>>,
    /// Redis failed to answer: limits stay local until then.
    resting_until: Mutex<Option<Instant>>,
    check: redis::Script,
}

impl SharedCounters {
    pub fn new(url: &str) -> redis::RedisResult<Arc<SharedCounters>> {
        Ok(Arc::new(SharedCounters {
            client: redis::Client::open(url)?,
            conn: tokio::sync::Mutex::new(None),
            resting_until: Mutex::new(None),
            check: redis::Script::new(CHECK_SCRIPT),
        }))
    }

    fn resting(&self) -> bool {
        let until = self.resting_until.lock().unwrap_or_else(|p| p.into_inner());
        until.is_some_and(|until| Instant::now() < until)
    }

    fn rest(&self, err: &dyn std::fmt::Display) {
        let mut until = self.resting_until.lock().unwrap_or_else(|p| p.into_inner());
        if until.is_none_or(|until| Instant::now() >= until) {
            tracing::warn!(error = %err, "shared rate limits unavailable: counting on this instance for now");
        }
        *until = Some(Instant::now() + REDIS_COOL_DOWN);
    }

    async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        let mut conn = self.conn.lock().await;
        if let Some(conn) = conn.as_ref() {
            return Ok(conn.clone());
        }
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_DEADLINE))
            .set_response_timeout(Some(REDIS_DEADLINE))
            .set_number_of_retries(0);
        let made = self.client.get_connection_manager_with_config(config).await?;
        *conn = Some(made.clone());
        Ok(made)
    }

    /// Runs `op` on Redis within the deadline; `None` when Redis is away.
    async fn run<T, F>(&self, op: impl FnOnce(ConnectionManager) -> F) -> Option<T>
    where
        F: std::future::Future<Output = redis::RedisResult<T>>,
    {
        if self.resting() {
            return None;
        }
        let attempt = async {
            let conn = self.connection().await?;
            op(conn).await
        };
        match tokio::time::timeout(REDIS_DEADLINE, attempt).await {
            Ok(Ok(value)) => Some(value),
            Ok(Err(err)) => {
                self.rest(&err);
                None
            }
            Err(_) => {
                self.rest(&"no answer in time");
                None
            }
        }
    }
}

/// A [`RateLimiter`] whose counts live in Redis when instances share one, and on this
/// instance otherwise (or while Redis is away).
pub struct SharedRateLimiter {
    local: RateLimiter,
    shared: Option<Arc<SharedCounters>>,
    /// Names the limit in Redis keys.
    name: &'static str,
}

impl SharedRateLimiter {
    pub fn new(
        name: &'static str,
        quota: u32,
        period: Duration,
        clock: SharedClock,
        shared: Option<Arc<SharedCounters>>,
    ) -> Self {
        SharedRateLimiter { local: RateLimiter::new(quota, period, clock), shared, name }
    }

    fn redis_key(&self, key: &str) -> String {
        format!("eventsync:limit:{}:{key}", self.name)
    }

    /// Counts one request for `key`; `Err(wait)` when over the quota.
    pub async fn check(&self, key: &str) -> Result<(), Duration> {
        if let Some(shared) = &self.shared {
            let now = self.local.clock.now_ms();
            let (interval, period) = (self.local.interval_ms, self.local.period_ms);
            let redis_key = self.redis_key(key);
            let answer: Option<i64> = shared
                .run(|mut conn| async move {
                    shared
                        .check
                        .key(redis_key)
                        .arg(now)
                        .arg(interval)
                        .arg(period)
                        .invoke_async(&mut conn)
                        .await
                })
                .await;
            if let Some(wait) = answer {
                return if wait < 0 { Ok(()) } else { Err(Duration::from_millis(wait as u64)) };
            }
        }
        self.local.check(key)
    }

    /// Counts one request for `key` whatever the quota says.
    pub async fn record(&self, key: &str) {
        let _ = self.check(key).await;
    }

    /// The key's arrival time, from Redis when shared.
    async fn arrival(&self, key: &str) -> Option<Option<Millis>> {
        let shared = self.shared.as_ref()?;
        let redis_key = self.redis_key(key);
        shared
            .run(|mut conn| async move {
                redis::cmd("GET").arg(redis_key).query_async::<Option<Millis>>(&mut conn).await
            })
            .await
    }

    /// Whether `key`'s quota is used up. Counts nothing.
    pub async fn is_exhausted(&self, key: &str) -> bool {
        match self.arrival(key).await {
            Some(tat) => self.local.exhausted_at(tat, self.local.clock.now_ms()),
            None => self.local.is_exhausted(key),
        }
    }

    /// Whether `key` used any of its quota within the last `period / quota`.
    pub async fn is_recent(&self, key: &str) -> bool {
        match self.arrival(key).await {
            Some(tat) => tat.is_some_and(|tat| tat > self.local.clock.now_ms()),
            None => self.local.is_recent(key),
        }
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

    /// A redis-server of the test's own on a free port, without persistence.
    struct OwnRedis {
        child: std::process::Child,
        url: String,
    }

    impl OwnRedis {
        fn start() -> OwnRedis {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let child = std::process::Command::new("redis-server")
                .args(["--port", &port.to_string(), "--save", "", "--appendonly", "no"])
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("redis-server is installed (the scale-out tests need it)");
            let started = Instant::now();
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(started.elapsed() < Duration::from_secs(10), "redis-server did not start");
                std::thread::sleep(Duration::from_millis(20));
            }
            OwnRedis { child, url: format!("redis://127.0.0.1:{port}") }
        }
    }

    impl Drop for OwnRedis {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    #[tokio::test]
    async fn instances_share_one_count_through_redis_and_fall_back_to_their_own() {
        let mut redis = OwnRedis::start();
        let clock = ManualClock::starting_at(1_000_000);
        let limiter = |shared| {
            SharedRateLimiter::new("test", 3, Duration::from_secs(60), Arc::new(clock.clone()), shared)
        };
        let a = limiter(Some(SharedCounters::new(&redis.url).unwrap()));
        let b = limiter(Some(SharedCounters::new(&redis.url).unwrap()));
        assert!(a.check("ip").await.is_ok() && a.check("ip").await.is_ok());
        assert!(b.check("ip").await.is_ok(), "the third of three, on the other instance");
        assert_eq!(b.check("ip").await, Err(Duration::from_secs(20)));
        assert!(a.is_exhausted("ip").await && b.is_recent("ip").await);
        assert!(a.check("other").await.is_ok(), "keys are independent");
        clock.advance(Duration::from_secs(20));
        assert!(a.check("ip").await.is_ok());

        // Redis goes away: each instance counts on its own, starting afresh.
        let _ = redis.child.kill();
        let _ = redis.child.wait();
        for _ in 0..3 {
            assert!(b.check("ip").await.is_ok());
        }
        assert!(b.check("ip").await.is_err(), "the local count still limits");
    }
}
