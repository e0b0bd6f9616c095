//! Moderation: the room's moderation log (moderators read it; every action and every
//! admin read of a room they are not in is written to it).

use super::access::RoomAccess;
use crate::auth::AuthUser;
use crate::domain::moderation::{ModerationAction, ModerationLog, ModerationLogQuery, NewModerationEntry};
use crate::domain::page_limit;
use crate::domain::room::RoomId;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub const LOG_LIMIT_DEFAULT: i64 = 50;
pub const LOG_LIMIT_MAX: i64 = 100;

/// Writes one entry to the room's log.
pub async fn record(state: &AppState, entry: NewModerationEntry) -> AppResult<()> {
    Ok(state.store.insert_moderation_entry(&entry, state.clock.now_ms()).await?)
}

/// Records that an admin read a room they do not participate in.
pub async fn log_admin_access(state: &AppState, admin: &AuthUser, room_id: RoomId) -> AppResult<()> {
    let entry = NewModerationEntry {
        room_id,
        actor_id: admin.user.id,
        action: ModerationAction::AdminAccess,
        target_id: None,
        message_id: None,
        reason: None,
        duration_seconds: None,
    };
    record(state, entry).await
}

/// The room's log, newest first; for those who may moderate the room.
pub async fn moderation_log(
    state: &AppState,
    caller: &AuthUser,
    room_id: RoomId,
    query: ModerationLogQuery,
) -> AppResult<ModerationLog> {
    let access = RoomAccess::load(state, caller, room_id).await?;
    if !access.moderates() {
        return Err(AppError::forbidden("only the room's moderators may read its moderation log"));
    }
    let limit = page_limit(query.limit, LOG_LIMIT_DEFAULT, LOG_LIMIT_MAX)?;
    let mut entries =
        state.store.moderation_log(room_id, query.before.unwrap_or(i64::MAX), limit + 1).await?;
    let has_more = entries.len() as i64 > limit;
    entries.truncate(limit as usize);
    Ok(ModerationLog { entries, has_more })
}
