//! EventSync Chat: a self-hosted real-time chat server for event platforms.
//!
//! A tour, following a request:
//! - [`config`]: flags and `EVENTSYNC_*` variables; every limit is a named setting.
//! - [`server`]: accepting connections: timeouts, per-address caps, hyper's own answers.
//! - [`http`]: one axum router per resource (and the embedded web UI), merged with the OpenAPI document and the
//!   cross-origin guard. Handlers are thin: decode, call one service function, encode.
//! - [`realtime`]: Socket.IO on the same port: handshake authentication, the table of
//!   client events, per-socket ordering, and the publisher that broadcasts chat events.
//! - [`auth`]: accounts, passwords, session tokens and where credentials come from.
//! - [`chat`]: the service layer, where the rules live; REST and Socket.IO both call it,
//!   and it publishes what changed through [`chat::publish`].
//! - [`domain`]: plain types, request bodies and pure validation rules.
//! - [`store`]: SQLite or PostgreSQL behind one `Store`, migrations embedded.
//! - [`error`]: the one error type and its JSON form.
//! - [`clock`], [`ratelimit`], [`admission`], [`metrics`]: injectable time, rate limits,
//!   arrivals taking turns after a reconnect storm, Prometheus.
//!
//! Where does X live?
//! - A rule (who may join, edit window, mute, mentions): `chat/<resource>.rs`; who may
//!   see or join a room: `chat/access.rs`; what makes a value valid: `domain/`.
//! - A REST route: `http/<resource>.rs`, one `router()` each, merged in `http/mod.rs`.
//! - A Socket.IO client event: one line in `realtime/operations.rs` (`OPERATIONS`).
//! - A server → client event: a [`chat::publish::ChatEvent`] variant (its audience is
//!   decided there) and its name and payload in `realtime/broadcast.rs`.
//! - A room setting: a field of [`domain::room::RoomSettings`], its column in
//!   `store/rooms.rs` (`settings_columns!`, `bind_settings!`) and both migrations.
//! - A query: `store/<table>.rs`, written once for both backends.
//! - A setting or limit: `config.rs`, with its row in the README's table.
//! - Tests: `tests/*.rs` drive the real server over HTTP (both backends);
//!   `tests/socketio/` drive it with the npm Socket.IO client.
//!
//! [`run`] serves on a listener until a shutdown future resolves; `main` and the
//! integration tests both call it.

pub mod admin;
pub mod admission;
pub mod auth;
pub mod chat;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod files;
pub mod http;
pub mod metrics;
pub mod ratelimit;
pub mod realtime;
pub mod server;
pub mod state;
pub mod store;

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::chat::publish::ChatEvent;
use crate::clock::SharedClock;
use crate::config::ServeArgs;
use crate::error::BoxError;
use crate::state::AppState;
use crate::store::Store;

/// How often expired login sessions are deleted and their sockets disconnected.
const SESSION_SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// Serves HTTP and Socket.IO on `listener` until `shutdown` resolves, then stops
/// accepting, disconnects sockets cleanly and waits (up to the grace period) for
/// requests in flight.
pub async fn run(
    config: ServeArgs,
    clock: SharedClock,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), BoxError> {
    let mut config = config;
    config.limits.load_blocked_words_file()?;
    let store = Store::open(&config.storage, config.limits.sqlite_readers).await?;
    let grace = Duration::from_secs(config.limits.shutdown_grace_seconds);
    let (socket_layer, io) = realtime::layer();
    let broadcaster = realtime::broadcast::Broadcaster::new(io.clone());
    let instance: state::InstanceId = rand::random();
    let bus = match &config.redis_url {
        Some(url) => {
            Some(std::sync::Arc::new(realtime::bus::RedisBus::new(&url.0, instance, broadcaster.clone())?))
        }
        None => None,
    };
    let publisher: chat::publish::SharedPublisher = match &bus {
        Some(bus) => bus.clone(),
        None => std::sync::Arc::new(broadcaster),
    };
    let blobs = files::blobs::BlobStore::local(&config.storage.files_dir())?;
    let mut state = AppState::new(store.clone(), blobs, clock, config.limits, publisher);
    state.instance = instance;
    if let Some(url) = &config.redis_url {
        state.share_limits(ratelimit::SharedCounters::new(&url.0)?);
    }
    let bus_tasks = bus.map(|bus| bus.start(state.clone())).unwrap_or_default();
    realtime::attach(&io, state.clone());
    let app = http::router(state.clone())
        .layer(socket_layer)
        .layer(axum::middleware::map_request(realtime::detach_request_buffers))
        .layer(axum::middleware::map_response(http::security_headers));

    if let Err(err) = chat::files::sweep_orphans(&state).await {
        tracing::warn!(error = %err, "could not sweep orphaned upload blobs");
    }
    let restored = chat::presence::restore_after_restart(&state).await;
    if restored > 0 {
        tracing::info!(users = restored, "kept online through the restart while they reconnect");
    }
    let sweeper = tokio::spawn(sweep_expired_sessions(state.clone()));
    let timers = tokio::spawn(chat::timers(state.clone()));
    let stopping = state.clone();
    let closing = async move {
        tracing::info!("shutting down: closing sockets, finishing requests in flight");
        chat::presence::save_for_restart(&stopping).await;
        io.close().await;
    };
    tracing::info!(addr = %listener.local_addr()?, database = store.backend_name(), "serving");
    server::serve(listener, app, &state.limits, grace, shutdown, closing).await?;
    sweeper.abort();
    timers.abort();
    for task in bus_tasks {
        task.abort();
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn sweep_expired_sessions(state: AppState) {
    let mut interval = tokio::time::interval(SESSION_SWEEP_INTERVAL);
    loop {
        interval.tick().await;
        match state.store.delete_expired_sessions(state.clock.now_ms()).await {
            Ok(ended) if ended.is_empty() => {}
            Ok(ended) => {
                tracing::info!(sessions = ended.len(), "deleted expired sessions");
                for session_id in ended {
                    state.publisher.publish(ChatEvent::SessionEnded { session_id }).await;
                }
            }
            Err(err) => tracing::warn!(error = %err, "could not delete expired sessions"),
        }
    }
}
