//! `AppState`: everything a handler may need, built once at start and cloned per request.
//! No globals: tests run several servers in one process, each with its own state.

use std::sync::Arc;

use crate::auth::LoginLimiter;
use crate::auth::password::PasswordHasher;
use crate::chat::messages::SendOrder;
use crate::chat::moderation::PostingLimits;
use crate::chat::participants::RoomCounts;
use crate::chat::presence::PresenceRegistry;
use crate::chat::publish::SharedPublisher;
use crate::chat::sessions::SessionWatch;
use crate::chat::typing::TypingRegistry;
use crate::clock::SharedClock;
use crate::config::Limits;
use crate::files::blobs::BlobStore;
use crate::metrics::Metrics;
use crate::store::Store;
use axum::extract::FromRef;

/// Tells server instances apart (random at start).
pub type InstanceId = u64;

#[derive(Clone, FromRef)]
pub struct AppState {
    /// This instance, among the others sharing the database and Redis.
    pub instance: InstanceId,
    pub store: Store,
    pub clock: SharedClock,
    pub limits: Arc<Limits>,
    pub passwords: PasswordHasher,
    pub login_limiter: Arc<LoginLimiter>,
    pub metrics: Arc<Metrics>,
    /// Where the chat service publishes what changed (Socket.IO in the server, a
    /// recorder in tests).
    pub publisher: SharedPublisher,
    pub presence: Arc<PresenceRegistry>,
    pub typing: Arc<TypingRegistry>,
    pub sessions: Arc<SessionWatch>,
    pub posting: Arc<PostingLimits>,
    pub room_counts: Arc<RoomCounts>,
    /// Keeps each room's new messages broadcast in `seq` order.
    pub send_order: Arc<SendOrder>,
    /// Uploaded files' contents.
    pub blobs: BlobStore,
    /// Socket arrivals (handshakes, room opens) take turns.
    pub arrivals: Arc<crate::admission::Admission>,
    /// Bounds how many thumbnails are made at once.
    pub thumbnails: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    /// Counts rate limits with the other instances through Redis.
    pub fn share_limits(&mut self, counters: Arc<crate::ratelimit::SharedCounters>) {
        self.login_limiter =
            Arc::new(LoginLimiter::new(&self.limits, self.clock.clone(), Some(counters.clone())));
        self.posting = Arc::new(PostingLimits::new(&self.limits, self.clock.clone(), Some(counters)));
    }

    pub fn new(
        store: Store,
        blobs: BlobStore,
        clock: SharedClock,
        limits: Limits,
        publisher: SharedPublisher,
    ) -> Self {
        AppState {
            instance: rand::random(),
            room_counts: Arc::new(RoomCounts::default()),
            send_order: Arc::new(SendOrder::default()),
            arrivals: Arc::new(crate::admission::Admission::new(
                limits.arrivals_at_once,
                std::time::Duration::from_secs(limits.arrival_wait_seconds),
            )),
            thumbnails: Arc::new(tokio::sync::Semaphore::new(limits.thumbnail_concurrency.max(1))),
            blobs,
            passwords: PasswordHasher::new(limits.password_hash_concurrency),
            login_limiter: Arc::new(LoginLimiter::new(&limits, clock.clone(), None)),
            posting: Arc::new(PostingLimits::new(&limits, clock.clone(), None)),
            metrics: Arc::new(Metrics::new()),
            limits: Arc::new(limits),
            store,
            clock,
            publisher,
            presence: Arc::new(PresenceRegistry::default()),
            typing: Arc::new(TypingRegistry::default()),
            sessions: Arc::new(SessionWatch::default()),
        }
    }
}
