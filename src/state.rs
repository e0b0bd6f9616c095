//! `AppState`: everything a handler may need, built once at start and cloned per request.
//! No globals: tests run several servers in one process, each with its own state.

use std::sync::Arc;

use axum::extract::FromRef;
use socketioxide::SocketIo;

use crate::auth::LoginLimiter;
use crate::auth::password::PasswordHasher;
use crate::chat::presence::PresenceRegistry;
use crate::clock::SharedClock;
use crate::config::Limits;
use crate::metrics::Metrics;
use crate::realtime::broadcast::Broadcaster;
use crate::store::Store;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub store: Store,
    pub clock: SharedClock,
    pub limits: Arc<Limits>,
    pub passwords: PasswordHasher,
    pub login_limiter: Arc<LoginLimiter>,
    pub metrics: Arc<Metrics>,
    /// Turns published chat events into Socket.IO broadcasts.
    pub broadcaster: Broadcaster,
    pub presence: Arc<PresenceRegistry>,
}

impl AppState {
    pub fn new(store: Store, clock: SharedClock, limits: Limits, io: SocketIo) -> Self {
        AppState {
            passwords: PasswordHasher::new(limits.password_hash_concurrency),
            login_limiter: Arc::new(LoginLimiter::new(&limits, clock.clone())),
            metrics: Arc::new(Metrics::new()),
            limits: Arc::new(limits),
            store,
            clock,
            broadcaster: Broadcaster::new(io),
            presence: Arc::new(PresenceRegistry::default()),
        }
    }
}
