//! `AppState`: everything a handler may need, built once at start and cloned per request.
//! No globals: tests run several servers in one process, each with its own state.

use std::sync::Arc;

use crate::auth::LoginLimiter;
use crate::auth::password::PasswordHasher;
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

#[derive(Clone, FromRef)]
pub struct AppState {
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
    /// Uploaded files' contents.
    pub blobs: BlobStore,
    /// Bounds how many thumbnails are made at once.
    pub thumbnails: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    pub fn new(
        store: Store,
        blobs: BlobStore,
        clock: SharedClock,
        limits: Limits,
        publisher: SharedPublisher,
    ) -> Self {
        AppState {
            room_counts: Arc::new(RoomCounts::default()),
            thumbnails: Arc::new(tokio::sync::Semaphore::new(limits.thumbnail_concurrency.max(1))),
            blobs,
            passwords: PasswordHasher::new(limits.password_hash_concurrency),
            login_limiter: Arc::new(LoginLimiter::new(&limits, clock.clone())),
            posting: Arc::new(PostingLimits::new(&limits, clock.clone())),
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
