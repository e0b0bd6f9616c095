//! Typing indicators: who is typing in a room, shown to its other participants.
//!
//! A start lasts the typing timeout unless renewed; repeated starts are broadcast at
//! most once per throttle interval; sending a message, a stop, a disconnect or the
//! timeout ends it (and says so). One entry per typing user and room, expired by
//! [`tick`] on the injectable clock: no task or timer per keystroke.

use std::collections::HashMap;
use std::sync::Mutex;

use super::access::RoomAccess;
use super::messages::require_not_muted;
use super::publish::ChatEvent;
use crate::auth::AuthUser;
use crate::clock::Millis;
use crate::domain::room::RoomId;
use crate::domain::user::{User, UserId};
use crate::error::AppResult;
use crate::state::AppState;

#[derive(Debug)]
struct Typing {
    user: User,
    expires_at: Millis,
    last_broadcast_at: Millis,
}

/// Who is typing where: started on this instance, and (told by others) elsewhere.
#[derive(Debug, Default)]
pub struct TypingRegistry {
    typing: Mutex<HashMap<(RoomId, UserId), Typing>>,
    /// Typing other instances announced, and when this instance ends it by itself if
    /// they never say it stopped.
    remote: Mutex<HashMap<(RoomId, UserId), (User, Millis)>>,
}

/// How much longer than the typing timeout this instance waits for another instance's
/// stop before it sends one itself.
const REMOTE_SLACK_MS: Millis = 2000;

impl TypingRegistry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(RoomId, UserId), Typing>> {
        self.typing.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn remote(&self) -> std::sync::MutexGuard<'_, HashMap<(RoomId, UserId), (User, Millis)>> {
        self.remote.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Ends the user's typing in the room; whether there was any.
    fn remove(&self, room_id: RoomId, user_id: UserId) -> Option<User> {
        self.lock().remove(&(room_id, user_id)).map(|t| t.user)
    }
}

fn millis(seconds: u64) -> Millis {
    (seconds as Millis).saturating_mul(1000)
}

/// The caller started (or goes on) typing in the room.
pub async fn start(state: &AppState, caller: &AuthUser, room_id: RoomId) -> AppResult<()> {
    let now = state.clock.now_ms();
    let key = (room_id, caller.user.id);
    let expires_at = now.saturating_add(millis(state.limits.typing_timeout_seconds));
    let throttle = millis(state.limits.typing_throttle_seconds);
    // A renewal of typing already allowed needs no second look at the room.
    let renewed = {
        let mut typing = state.typing.lock();
        match typing.get_mut(&key) {
            Some(entry) => {
                entry.expires_at = expires_at;
                let due = now - entry.last_broadcast_at >= throttle;
                if due {
                    entry.last_broadcast_at = now;
                }
                Some(due)
            }
            None => None,
        }
    };
    match renewed {
        Some(true) => broadcast(state, room_id, caller.user.clone(), true).await,
        Some(false) => {}
        None => {
            let access = RoomAccess::load(state, caller, room_id).await?;
            let membership = access.require_participant()?;
            require_not_muted(membership, now)?;
            let entry = Typing { user: caller.user.clone(), expires_at, last_broadcast_at: now };
            if state.typing.lock().insert(key, entry).is_none() {
                broadcast(state, room_id, caller.user.clone(), true).await;
            }
        }
    }
    Ok(())
}

/// The caller stopped typing in the room (checked like a start: the room must be theirs).
pub async fn stop(state: &AppState, caller: &AuthUser, room_id: RoomId) -> AppResult<()> {
    if state.typing.remove(room_id, caller.user.id).is_none() {
        RoomAccess::load(state, caller, room_id).await?.require_participant()?;
        return Ok(());
    }
    broadcast(state, room_id, caller.user.clone(), false).await;
    Ok(())
}

/// The user sent a message in the room: their typing there ends.
pub async fn stopped_by_sending(state: &AppState, room_id: RoomId, user_id: UserId) {
    if let Some(user) = state.typing.remove(room_id, user_id) {
        broadcast(state, room_id, user, false).await;
    }
}

/// The user's socket went away: their typing everywhere ends.
pub async fn stopped_by_leaving(state: &AppState, user_id: UserId) {
    let ended: Vec<(RoomId, User)> = {
        let mut typing = state.typing.lock();
        let keys: Vec<(RoomId, UserId)> = typing.keys().filter(|(_, u)| *u == user_id).copied().collect();
        keys.into_iter().filter_map(|key| typing.remove(&key).map(|t| (key.0, t.user))).collect()
    };
    for (room_id, user) in ended {
        broadcast(state, room_id, user, false).await;
    }
}

/// Another instance announced that `user` started or stopped typing (its sockets
/// have already heard).
pub fn remote(state: &AppState, room_id: RoomId, user: User, typing: bool) {
    let key = (room_id, user.id);
    if typing {
        let until = state
            .clock
            .now_ms()
            .saturating_add(millis(state.limits.typing_timeout_seconds))
            .saturating_add(REMOTE_SLACK_MS);
        state.typing.remote().insert(key, (user, until));
    } else {
        state.typing.remote().remove(&key);
    }
}

/// Ends the typing that was not renewed in time.
pub async fn tick(state: &AppState) {
    let now = state.clock.now_ms();
    let lapsed: Vec<(RoomId, User)> = {
        let mut remote = state.typing.remote();
        let keys: Vec<(RoomId, UserId)> =
            remote.iter().filter(|(_, (_, until))| *until <= now).map(|(key, _)| *key).collect();
        keys.into_iter().filter_map(|key| remote.remove(&key).map(|(user, _)| (key.0, user))).collect()
    };
    for (room_id, user) in lapsed {
        state.publisher.publish(ChatEvent::TypingExpired { room_id, user }).await;
    }
    let expired: Vec<(RoomId, User)> = {
        let mut typing = state.typing.lock();
        let keys: Vec<(RoomId, UserId)> =
            typing.iter().filter(|(_, t)| t.expires_at <= now).map(|(key, _)| *key).collect();
        keys.into_iter().filter_map(|key| typing.remove(&key).map(|t| (key.0, t.user))).collect()
    };
    for (room_id, user) in expired {
        broadcast(state, room_id, user, false).await;
    }
}

async fn broadcast(state: &AppState, room_id: RoomId, user: User, typing: bool) {
    state.publisher.publish(ChatEvent::Typing { room_id, user, typing }).await;
}
