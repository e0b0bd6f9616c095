//! The chat service layer: where the product's rules live.
//!
//! REST handlers and Socket.IO handlers both call these functions (authorize → validate →
//! persist → publish), so a change made either way behaves and broadcasts the same.
//! Nothing here knows about HTTP or Socket.IO.

pub mod access;
pub mod calendar;
pub mod export;
pub mod files;
pub mod messages;
pub mod moderation;
pub mod notifications;
pub mod participants;
pub mod pins;
pub mod presence;
pub mod publish;
pub mod qa;
pub mod replicas;
pub mod rooms;
pub mod sessions;
pub mod typing;

use std::time::Duration;

use crate::state::AppState;

/// How often time rules are applied: presence grace periods and idleness, custom
/// statuses that clear themselves, typing that was not renewed.
pub const TIMER_INTERVAL: Duration = Duration::from_millis(250);

/// Timer rounds between two pushes of changed participant counts.
const COUNT_PUSH_ROUNDS: u64 =
    (participants::COUNT_PUSH_INTERVAL.as_millis() / TIMER_INTERVAL.as_millis()) as u64;

/// Timer rounds between two heartbeats to the other instances (5 s).
const HEARTBEAT_ROUNDS: u64 = 5000 / TIMER_INTERVAL.as_millis() as u64;

/// Applies the time rules every [`TIMER_INTERVAL`] until the server stops. They read
/// the state's clock, so tests that advance a manual clock see them apply.
pub async fn timers(state: AppState) {
    let mut interval = tokio::time::interval(TIMER_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for round in 0u64.. {
        interval.tick().await;
        presence::tick(&state).await;
        typing::tick(&state).await;
        sessions::tick(&state).await;
        // Mutes end to the second; their check is a database statement.
        if round % COUNT_PUSH_ROUNDS == 0 {
            participants::push_counts(&state).await;
        }
        if round % HEARTBEAT_ROUNDS == 0 {
            replicas::heartbeat(&state).await;
        }
        if round % 4 == 0 {
            moderation::tick(&state).await;
            if let Err(err) = files::purge_expired(&state).await {
                tracing::warn!(error = %err, "could not purge expired files");
            }
        }
    }
}
