//! The cross-instance event bus: several instances behind a load balancer, on one Redis.
//!
//! Every instance delivers what it publishes to its own sockets at once, then appends it,
//! serialized once, to one Redis Stream (`XADD … MAXLEN ~`). Every instance reads that
//! stream and delivers what the others published to its own sockets, resolving rooms and
//! users locally: no instance ever asks another which sockets it holds. The database
//! stays the source of truth; the stream only fans out.
//!
//! Losing Redis never stops local delivery. Each instance numbers what it publishes, so a
//! reader can drop a repeat (a write retried after a timeout) and notice a gap (a write
//! dropped while Redis was away). A reader that resumes after an outage continues from
//! its last stream id; whenever something may have been missed (an outage, a gap, a
//! stream that Redis lost on restart, detected by its epoch key) it tells its sockets
//! `resync_required` with their rooms, and clients rejoin with `since`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::streams::StreamReadReply;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::broadcast::{Broadcaster, Delivery};
use crate::chat::publish::{ChatEvent, Publisher, Publishing, Replica};
use crate::chat::replicas;
use crate::state::{AppState, InstanceId};

/// The stream every instance appends to and reads.
const STREAM_KEY: &str = "eventsync:events";
/// Names the stream's lifetime: a Redis that restarted without its data has none, or
/// another.
const EPOCH_KEY: &str = "eventsync:epoch";
/// Entries the stream keeps (about); a reader further behind than this has missed some.
const STREAM_MAXLEN: u64 = 100_000;
/// Messages waiting to be written while Redis is slow or away; more are dropped (and
/// the readers see the gap).
const OUTBOX_CAPACITY: usize = 20_000;
/// Messages written with one round trip.
const WRITE_BATCH: usize = 256;
/// How long one `XREAD` waits for news.
const READ_BLOCK_MS: u64 = 2000;
/// Entries read with one round trip.
const READ_COUNT: usize = 512;
/// How long a command may go unanswered before the connection counts as lost.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause between attempts while Redis is away.
const RETRY_PAUSE: Duration = Duration::from_millis(250);

/// One entry of the stream.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    /// The instance that published it.
    from: InstanceId,
    /// Counts up by one per message of that instance.
    n: u64,
    delivery: Option<Delivery>,
    replica: Option<Replica>,
}

/// Health of the link to Redis, shared by the writer, the reader and `/healthz`.
#[derive(Debug, Default)]
struct Link {
    writer_up: AtomicBool,
    reader_up: AtomicBool,
    failed_publishes: AtomicU64,
}

/// The [`Publisher`] of an instance running with Redis.
pub struct RedisBus {
    instance: InstanceId,
    local: Broadcaster,
    client: redis::Client,
    next: AtomicU64,
    outbox: mpsc::Sender<Vec<u8>>,
    outbox_rx: std::sync::Mutex<Option<mpsc::Receiver<Vec<u8>>>>,
    link: Arc<Link>,
}

impl RedisBus {
    /// A bus on the Redis at `url` (nothing is connected until [`RedisBus::start`]).
    pub fn new(url: &str, instance: InstanceId, local: Broadcaster) -> redis::RedisResult<RedisBus> {
        let client = redis::Client::open(url)?;
        let (outbox, outbox_rx) = mpsc::channel(OUTBOX_CAPACITY);
        Ok(RedisBus {
            instance,
            local,
            client,
            next: AtomicU64::new(1),
            outbox,
            outbox_rx: std::sync::Mutex::new(Some(outbox_rx)),
            link: Arc::default(),
        })
    }

    /// Starts writing and reading the stream; both run until the returned handles are
    /// aborted.
    pub fn start(self: &Arc<Self>, state: AppState) -> Vec<tokio::task::JoinHandle<()>> {
        let Some(outbox) = self.outbox_rx.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return Vec::new();
        };
        vec![tokio::spawn(self.clone().write(outbox)), tokio::spawn(self.clone().read(state))]
    }

    async fn connect(&self) -> redis::RedisResult<ConnectionManager> {
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(1);
        self.client.get_connection_manager_with_config(config).await
    }

    /// Connects, retrying until Redis answers.
    async fn connect_until_up(&self, up: &AtomicBool) -> ConnectionManager {
        loop {
            match self.connect().await {
                Ok(conn) => return conn,
                Err(err) => {
                    if up.swap(false, Ordering::Relaxed) {
                        tracing::warn!(error = %err, "Redis unreachable: delivering to this instance's sockets only");
                    }
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
            }
        }
    }

    /// Appends queued messages to the stream, keeping a batch until Redis takes it.
    async fn write(self: Arc<Self>, mut outbox: mpsc::Receiver<Vec<u8>>) {
        let mut conn = self.connect_until_up(&self.link.writer_up).await;
        self.link.writer_up.store(true, Ordering::Relaxed);
        let mut batch: Vec<Vec<u8>> = Vec::with_capacity(WRITE_BATCH);
        loop {
            if batch.is_empty() && outbox.recv_many(&mut batch, WRITE_BATCH).await == 0 {
                return;
            }
            let mut pipe = redis::pipe();
            for message in &batch {
                pipe.cmd("XADD")
                    .arg(STREAM_KEY)
                    .arg("MAXLEN")
                    .arg("~")
                    .arg(STREAM_MAXLEN)
                    .arg("*")
                    .arg("m")
                    .arg(message.as_slice())
                    .ignore();
            }
            match pipe.query_async::<()>(&mut conn).await {
                Ok(()) => {
                    batch.clear();
                    if !self.link.writer_up.swap(true, Ordering::Relaxed) {
                        tracing::info!("Redis is back: publishing to the other instances again");
                    }
                }
                Err(err) => {
                    self.link.failed_publishes.fetch_add(batch.len() as u64, Ordering::Relaxed);
                    if self.link.writer_up.swap(false, Ordering::Relaxed) {
                        tracing::warn!(error = %err, "could not publish to Redis; retrying");
                    }
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
            }
        }
    }

    /// Reads the stream from where this instance started, delivering what the others
    /// published.
    async fn read(self: Arc<Self>, state: AppState) {
        let mut reader = Reader { last_id: String::new(), epoch: None, seen: HashMap::new() };
        let mut lost = false;
        loop {
            let mut conn = self.connect_until_up(&self.link.reader_up).await;
            let checked = match reader.check_epoch(&mut conn).await {
                Ok(same) if reader.last_id.is_empty() => reader.start_at_end(&mut conn).await.map(|()| same),
                checked => checked,
            };
            match checked {
                Ok(true) => {}
                Ok(false) => {
                    // Redis lost the stream: everything published before is gone, and
                    // what is there now is new.
                    reader.last_id = "0-0".to_owned();
                    lost = true;
                }
                Err(err) => {
                    self.reader_down(&err);
                    lost = true;
                    tokio::time::sleep(RETRY_PAUSE).await;
                    continue;
                }
            }
            if std::mem::take(&mut lost) {
                self.recovered(&state).await;
            }
            self.link.reader_up.store(true, Ordering::Relaxed);
            loop {
                match reader.next_batch(&mut conn).await {
                    Ok(entries) => {
                        let mut gap = false;
                        for envelope in entries {
                            gap |= self.receive(&state, &mut reader, envelope).await;
                        }
                        if gap {
                            self.local.resync_all().await;
                        }
                    }
                    Err(err) => {
                        self.reader_down(&err);
                        lost = true;
                        tokio::time::sleep(RETRY_PAUSE).await;
                        break;
                    }
                }
            }
        }
    }

    fn reader_down(&self, err: &redis::RedisError) {
        if self.link.reader_up.swap(false, Ordering::Relaxed) {
            tracing::warn!(error = %err, "lost the Redis stream; resuming when it is back");
        }
    }

    /// Redis is back after this instance may have missed broadcasts and the others what
    /// it told them.
    async fn recovered(&self, state: &AppState) {
        tracing::info!("Redis stream resumed: telling sockets to resync");
        self.local.resync_all().await;
        replicas::retell(state).await;
    }

    /// Handles one entry; whether it shows that something was missed.
    async fn receive(&self, state: &AppState, reader: &mut Reader, envelope: Envelope) -> bool {
        if envelope.from == self.instance {
            return false;
        }
        let last = reader.seen.get(&envelope.from).copied();
        if last.is_some_and(|last| envelope.n <= last) {
            return false; // a repeat of a write that was retried
        }
        reader.seen.insert(envelope.from, envelope.n);
        if let Some(delivery) = &envelope.delivery {
            self.local.deliver(delivery).await;
        }
        // Any message shows its sender alive.
        replicas::apply(state, envelope.from, envelope.replica.unwrap_or(Replica::Alive)).await;
        last.is_some_and(|last| envelope.n > last + 1)
    }

    /// Whether Redis answers, for `/healthz`.
    pub fn redis_up(&self) -> bool {
        self.link.writer_up.load(Ordering::Relaxed) && self.link.reader_up.load(Ordering::Relaxed)
    }

    /// Messages that could not be written to Redis (each failed attempt counts).
    pub fn failed_publishes(&self) -> u64 {
        self.link.failed_publishes.load(Ordering::Relaxed)
    }
}

/// Where a reader is in the stream.
struct Reader {
    last_id: String,
    epoch: Option<String>,
    /// The last message number seen from each other instance.
    seen: HashMap<InstanceId, u64>,
}

impl Reader {
    /// Whether the stream is the one this reader has been reading (or the first).
    async fn check_epoch(&mut self, conn: &mut ConnectionManager) -> redis::RedisResult<bool> {
        let fresh = format!("{:016x}", rand::random::<u64>());
        let _: Option<String> =
            redis::cmd("SET").arg(EPOCH_KEY).arg(&fresh).arg("NX").query_async(conn).await?;
        let epoch: String = redis::cmd("GET").arg(EPOCH_KEY).query_async(conn).await?;
        let same = self.epoch.as_ref().is_none_or(|known| *known == epoch);
        self.epoch = Some(epoch);
        Ok(same)
    }

    async fn next_batch(&mut self, conn: &mut ConnectionManager) -> redis::RedisResult<Vec<Envelope>> {
        let reply: Option<StreamReadReply> = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(READ_COUNT)
            .arg("BLOCK")
            .arg(READ_BLOCK_MS)
            .arg("STREAMS")
            .arg(STREAM_KEY)
            .arg(&self.last_id)
            .query_async(conn)
            .await?;
        let mut envelopes = Vec::new();
        for stream in reply.map(|r| r.keys).unwrap_or_default() {
            for entry in stream.ids {
                self.last_id = entry.id.clone();
                let Some(redis::Value::BulkString(bytes)) = entry.map.get("m") else { continue };
                match serde_json::from_slice::<Envelope>(bytes) {
                    Ok(envelope) => envelopes.push(envelope),
                    Err(err) => tracing::warn!(id = entry.id, error = %err, "unreadable bus entry"),
                }
            }
        }
        Ok(envelopes)
    }

    /// Starts after the newest entry: what was published before this instance started
    /// is history, which clients read from the database.
    async fn start_at_end(&mut self, conn: &mut ConnectionManager) -> redis::RedisResult<()> {
        let newest: redis::streams::StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(STREAM_KEY)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(conn)
            .await?;
        self.last_id = newest.ids.first().map_or_else(|| "0-0".to_owned(), |entry| entry.id.clone());
        Ok(())
    }
}

impl Publisher for RedisBus {
    fn publish(&self, event: ChatEvent) -> Publishing<'_> {
        Box::pin(async move {
            let delivery = Delivery::of(&event);
            if let Some(delivery) = &delivery {
                self.local.deliver(delivery).await;
            }
            if !event.crosses_instances() {
                return;
            }
            let envelope = Envelope {
                from: self.instance,
                n: self.next.fetch_add(1, Ordering::Relaxed),
                delivery,
                replica: event.replica(),
            };
            match serde_json::to_vec(&envelope) {
                Ok(bytes) => {
                    if self.outbox.try_send(bytes).is_err() {
                        self.link.failed_publishes.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Err(err) => tracing::warn!(error = %err, "could not encode a bus message"),
            }
        })
    }

    fn redis_up(&self) -> Option<bool> {
        Some(RedisBus::redis_up(self))
    }

    fn failed_publishes(&self) -> u64 {
        RedisBus::failed_publishes(self)
    }
}
