//! Moderation: mutes (kicks, bans and granular grants build on the same parts) and the
//! room's moderation log. Every action and every admin read of a room they are not in
//! is written to the log; moderators read it.

use super::access::RoomAccess;
use super::publish::ChatEvent;
use crate::auth::AuthUser;
use crate::clock::{Millis, to_rfc3339};
use crate::domain::moderation::{
    ModerationAction, ModerationLog, ModerationLogQuery, MuteNotice, MuteRequest, NewModerationEntry,
    UnmuteRequest, validate_reason,
};
use crate::domain::page_limit;
use crate::domain::room::{ParticipantRole, Permission, RoomId};
use crate::domain::user::{Role, User, UserId};
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

/// Far enough ahead to mean "until unmuted" where a time must be stored.
const FOREVER: Millis = 253_402_300_799_000; // 9999-12-31T23:59:59Z

/// The participant a moderator acts on; nobody acts on a room's owner or on an admin.
async fn target(state: &AppState, access: &RoomAccess, user_id: UserId) -> AppResult<User> {
    let membership = state
        .store
        .membership(access.room.room_id, user_id)
        .await?
        .ok_or(AppError::NotFound("participant"))?;
    let user = state.store.users_by_ids(&[user_id]).await?.pop().ok_or(AppError::NotFound("participant"))?;
    if membership.role == ParticipantRole::Owner || user.role == Role::Admin {
        return Err(AppError::forbidden("the room's owner and admins cannot be moderated"));
    }
    Ok(user)
}

/// Mutes a participant (`mute` permission): they read but cannot post, react, vote or
/// type until the mute ends. Logged, announced, and told to the room.
pub async fn mute(
    state: &AppState,
    caller: &AuthUser,
    room_id: RoomId,
    req: MuteRequest,
) -> AppResult<MuteNotice> {
    let access = RoomAccess::load(state, caller, room_id).await?;
    access.require(Permission::Mute)?;
    let reason = validate_reason(req.reason.as_deref())?;
    let user = target(state, &access, req.user_id).await?;
    let now = state.clock.now_ms();
    let until = match req.duration_seconds {
        Some(seconds) => {
            now.saturating_add((seconds.min(i64::MAX as u64 / 1000) as Millis).saturating_mul(1000))
        }
        None => FOREVER,
    }
    .min(FOREVER);
    let log = NewModerationEntry {
        room_id,
        actor_id: caller.user.id,
        action: ModerationAction::Mute,
        target_id: Some(user.id),
        message_id: None,
        reason: reason.clone(),
        duration_seconds: req.duration_seconds.map(|s| s.min(i64::MAX as u64) as i64),
    };
    if !state.store.set_muted_until(room_id, user.id, Some(until), &log, now).await? {
        return Err(AppError::NotFound("participant"));
    }
    super::typing::stopped_by_sending(state, room_id, user.id).await;
    let text = format!("{} muted {}", caller.user.display_name, user.display_name);
    super::messages::post_system_message(state, room_id, text).await?;
    let notice = MuteNotice {
        room_id,
        user,
        actor: Some(caller.user.clone()),
        until: (until != FOREVER).then(|| to_rfc3339(until)),
        reason,
    };
    state.publisher.publish(ChatEvent::UserMuted(notice.clone())).await;
    Ok(notice)
}

/// Lifts a participant's mute (`mute` permission).
pub async fn unmute(
    state: &AppState,
    caller: &AuthUser,
    room_id: RoomId,
    req: UnmuteRequest,
) -> AppResult<MuteNotice> {
    let access = RoomAccess::load(state, caller, room_id).await?;
    access.require(Permission::Mute)?;
    let user = target(state, &access, req.user_id).await?;
    let now = state.clock.now_ms();
    let log = NewModerationEntry {
        room_id,
        actor_id: caller.user.id,
        action: ModerationAction::Unmute,
        target_id: Some(user.id),
        message_id: None,
        reason: None,
        duration_seconds: None,
    };
    if !state.store.set_muted_until(room_id, user.id, None, &log, now).await? {
        return Err(AppError::NotFound("participant"));
    }
    let text = format!("{} unmuted {}", caller.user.display_name, user.display_name);
    super::messages::post_system_message(state, room_id, text).await?;
    let notice = MuteNotice { room_id, user, actor: Some(caller.user.clone()), until: None, reason: None };
    state.publisher.publish(ChatEvent::UserUnmuted(notice.clone())).await;
    Ok(notice)
}

/// Ends the mutes that ran out, telling each room.
pub async fn tick(state: &AppState) {
    let ended = match state.store.end_expired_mutes(state.clock.now_ms()).await {
        Ok(ended) => ended,
        Err(err) => return tracing::warn!(error = %err, "could not end expired mutes"),
    };
    for mute in ended {
        let Ok(mut users) = state.store.users_by_ids(&[mute.user_id]).await else { continue };
        let Some(user) = users.pop() else { continue };
        let notice = MuteNotice { room_id: mute.room_id, user, actor: None, until: None, reason: None };
        state.publisher.publish(ChatEvent::UserUnmuted(notice)).await;
    }
}
