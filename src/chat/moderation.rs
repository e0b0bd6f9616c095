//! Moderation: mutes, kicks and bans (granular grants build on the same parts) and the
//! room's moderation log. Every action and every admin read of a room they are not in
//! is written to the log; moderators read it.

use super::access::RoomAccess;
use super::publish::ChatEvent;
use crate::auth::AuthUser;
use crate::clock::{Millis, to_rfc3339};
use crate::domain::moderation::{
    BanList, BanRequest, EventBanNotice, KickRequest, ModerationAction, ModerationLog, ModerationLogQuery,
    ModerationNotice, MuteRequest, NewModerationEntry, UnbanRequest, UnmuteRequest, validate_reason,
};
use crate::domain::page_limit;
use crate::domain::room::{
    GrantModerator, Moderator, ModeratorList, ParticipantRole, Permission, RoomId, RoomSettings,
    SLOW_MODE_MAX_SECONDS, store_permissions, stored_permissions,
};
use crate::domain::user::{Role, User, UserId};
use crate::domain::words::{self, FilterMode};
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
pub(super) const FOREVER: Millis = 253_402_300_799_000; // 9999-12-31T23:59:59Z

/// The participant a moderator acts on. Nobody acts on a room's owner, its event's
/// organizer or an admin, nor on a moderator holding a permission the actor lacks.
async fn target(state: &AppState, access: &RoomAccess, user_id: UserId) -> AppResult<User> {
    let membership = state
        .store
        .membership(access.room.room_id, user_id)
        .await?
        .ok_or(AppError::NotFound("participant"))?;
    let user = state.store.users_by_ids(&[user_id]).await?.pop().ok_or(AppError::NotFound("participant"))?;
    if membership.role == ParticipantRole::Owner
        || user.role == Role::Admin
        || access.event_organizer == Some(user_id)
    {
        return Err(AppError::forbidden(
            "the room's owner, its event's organizer and admins cannot be moderated",
        ));
    }
    if membership.role == ParticipantRole::Moderator
        && !stored_permissions(membership.permissions.as_deref()).iter().all(|p| access.holds(*p))
    {
        return Err(AppError::forbidden("this moderator holds permissions you do not"));
    }
    Ok(user)
}

/// The room's owners and moderators with what each may do; for participants.
pub async fn moderators(state: &AppState, caller: &AuthUser, room_id: RoomId) -> AppResult<ModeratorList> {
    let access = RoomAccess::load(state, caller, room_id).await?;
    access.require_reader(state, caller).await?;
    let moderators = state
        .store
        .moderators(room_id)
        .await?
        .into_iter()
        .map(|(user, role, stored)| {
            let permissions = match role {
                ParticipantRole::Moderator => stored_permissions(stored.as_deref()),
                _ => Permission::ALL.to_vec(),
            };
            Moderator { user, role, permissions }
        })
        .collect();
    Ok(ModeratorList { moderators })
}

/// Makes a participant a moderator with exactly `permissions`, or changes their grants
/// (`manage_moderators`); nobody grants what they do not hold.
pub async fn grant_moderator(
    state: &AppState,
    caller: &AuthUser,
    room_id: RoomId,
    user_id: UserId,
    req: GrantModerator,
) -> AppResult<Moderator> {
    let access = RoomAccess::load(state, caller, room_id).await?;
    access.require(Permission::ManageModerators)?;
    if req.permissions.is_empty() {
        return Err(AppError::validation("invalid_field", "permissions must name at least one permission"));
    }
    if let Some(missing) = req.permissions.iter().find(|p| !access.holds(**p)) {
        return Err(AppError::forbidden(format!(
            "you cannot grant {}, which you do not hold",
            missing.as_str()
        )));
    }
    let user = target(state, &access, user_id).await?;
    let stored = store_permissions(&req.permissions);
    let log = entry(room_id, caller, ModerationAction::GrantModerator, user.id, Some(stored.clone()), None);
    if !state.store.set_moderator(room_id, user.id, Some(&stored), &log, state.clock.now_ms()).await? {
        return Err(AppError::NotFound("participant"));
    }
    Ok(Moderator { user, role: ParticipantRole::Moderator, permissions: stored_permissions(Some(&stored)) })
}

/// Makes a moderator a plain member again (`manage_moderators`).
pub async fn revoke_moderator(
    state: &AppState,
    caller: &AuthUser,
    room_id: RoomId,
    user_id: UserId,
) -> AppResult<()> {
    let access = RoomAccess::load(state, caller, room_id).await?;
    access.require(Permission::ManageModerators)?;
    let user = target(state, &access, user_id).await?;
    let log = entry(room_id, caller, ModerationAction::RevokeModerator, user.id, None, None);
    if !state.store.set_moderator(room_id, user.id, None, &log, state.clock.now_ms()).await? {
        return Err(AppError::NotFound("participant"));
    }
    Ok(())
}

/// Mutes a participant (`mute` permission): they read but cannot post, react, vote or
/// type until the mute ends. Logged, announced, and told to the room.
pub async fn mute(
    state: &AppState,
    caller: &AuthUser,
    room_id: RoomId,
    req: MuteRequest,
) -> AppResult<ModerationNotice> {
    let access = RoomAccess::load(state, caller, room_id).await?;
    access.require(Permission::Mute)?;
    let reason = validate_reason(req.reason.as_deref())?;
    let user = target(state, &access, req.user_id).await?;
    let now = state.clock.now_ms();
    let until = deadline(now, req.duration_seconds)?.unwrap_or(FOREVER);
    let log = entry(room_id, caller, ModerationAction::Mute, user.id, reason.clone(), req.duration_seconds);
    if !state.store.set_muted_until(room_id, user.id, Some(until), &log, now).await? {
        return Err(AppError::NotFound("participant"));
    }
    super::typing::stopped_by_sending(state, room_id, user.id).await;
    let text = format!("{} muted {}", caller.user.display_name, user.display_name);
    super::messages::post_system_message(state, room_id, text).await?;
    let notice = ModerationNotice {
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
) -> AppResult<ModerationNotice> {
    let access = RoomAccess::load(state, caller, room_id).await?;
    access.require(Permission::Mute)?;
    let user = target(state, &access, req.user_id).await?;
    let now = state.clock.now_ms();
    let log = entry(room_id, caller, ModerationAction::Unmute, user.id, None, None);
    if !state.store.set_muted_until(room_id, user.id, None, &log, now).await? {
        return Err(AppError::NotFound("participant"));
    }
    let text = format!("{} unmuted {}", caller.user.display_name, user.display_name);
    super::messages::post_system_message(state, room_id, text).await?;
    let notice =
        ModerationNotice { room_id, user, actor: Some(caller.user.clone()), until: None, reason: None };
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
        let notice = ModerationNotice { room_id: mute.room_id, user, actor: None, until: None, reason: None };
        state.publisher.publish(ChatEvent::UserUnmuted(notice)).await;
    }
}

fn entry(
    room_id: RoomId,
    actor: &AuthUser,
    action: ModerationAction,
    target: UserId,
    reason: Option<String>,
    duration_seconds: Option<i64>,
) -> NewModerationEntry {
    NewModerationEntry {
        room_id,
        actor_id: actor.user.id,
        action,
        target_id: Some(target),
        message_id: None,
        reason,
        duration_seconds,
    }
}

/// When a mute or ban of `duration_seconds` ends (`None`: when lifted). A duration of 0
/// would end before it began: 422.
fn deadline(now: Millis, duration_seconds: Option<i64>) -> AppResult<Option<Millis>> {
    match duration_seconds {
        Some(..=0) => Err(AppError::validation(
            "invalid_duration",
            "duration_seconds must be at least 1; leave it out for no end",
        )),
        Some(seconds) => Ok(Some(now.saturating_add(seconds.saturating_mul(1000)).min(FOREVER))),
        None => Ok(None),
    }
}

/// 403 `banned` if the user is banned from the room now, saying until when.
pub async fn require_not_banned(state: &AppState, room_id: RoomId, user_id: UserId) -> AppResult<()> {
    match state.store.active_ban(room_id, user_id, state.clock.now_ms()).await? {
        None => Ok(()),
        Some(until) => Err(ban_refusal("you are", until)),
    }
}

/// Takes someone else out of the room (`manage_room`), under the same rules on whom a
/// moderator may act as a kick, and logged; they may join again where the room lets them.
pub(super) async fn remove_participant(
    state: &AppState,
    caller: &AuthUser,
    access: &RoomAccess,
    user_id: UserId,
) -> AppResult<()> {
    access.require(Permission::ManageRoom)?;
    let room_id = access.room.room_id;
    let user = target(state, access, user_id).await?;
    let log = entry(room_id, caller, ModerationAction::RemoveParticipant, user.id, None, None);
    if state.store.kick(room_id, user.id, &log, state.clock.now_ms()).await? {
        state.room_counts.adjust(room_id, -1);
        super::typing::stopped_by_sending(state, room_id, user.id).await;
        let text = format!("{} removed {}", caller.user.display_name, user.display_name);
        super::messages::post_system_message(state, room_id, text).await?;
        state.publisher.publish(ChatEvent::UserLeft { room_id, user, quiet: false }).await;
    }
    Ok(())
}

/// 403 `banned` if any of `users` is banned from the room now, naming the first and
/// saying until when; one query for the whole list.
pub async fn require_none_banned(state: &AppState, room_id: RoomId, users: &[User]) -> AppResult<()> {
    let ids: Vec<UserId> = users.iter().map(|u| u.id).collect();
    let banned = state.store.active_bans_among(room_id, &ids, state.clock.now_ms()).await?;
    let Some(user) = users.iter().find(|u| banned.iter().any(|(id, _)| *id == u.id)) else {
        return Ok(());
    };
    let until = banned.iter().find(|(id, _)| *id == user.id).and_then(|(_, until)| *until);
    Err(ban_refusal(&format!("{} is", user.display_name), until))
}

/// 403 `banned` for `who` ("you are", "Ann is"), saying until when.
fn ban_refusal(who: &str, until: Option<Millis>) -> AppError {
    let message = match until {
        Some(until) => format!("{who} banned from this room until {}", to_rfc3339(until)),
        None => format!("{who} banned from this room"),
    };
    AppError::Restricted { code: "banned", message, until }
}

/// Removes a participant (`kick` permission): every one of their sockets stops following
/// the room at once; they may join again where the room lets them.
pub async fn kick(
    state: &AppState,
    caller: &AuthUser,
    room_id: RoomId,
    req: KickRequest,
) -> AppResult<ModerationNotice> {
    let access = RoomAccess::load(state, caller, room_id).await?;
    access.require(Permission::Kick)?;
    let reason = validate_reason(req.reason.as_deref())?;
    let user = target(state, &access, req.user_id).await?;
    let log = entry(room_id, caller, ModerationAction::Kick, user.id, reason.clone(), None);
    if !state.store.kick(room_id, user.id, &log, state.clock.now_ms()).await? {
        return Err(AppError::NotFound("participant"));
    }
    state.room_counts.adjust(room_id, -1);
    super::typing::stopped_by_sending(state, room_id, user.id).await;
    let text = format!("{} removed {}", caller.user.display_name, user.display_name);
    super::messages::post_system_message(state, room_id, text).await?;
    let notice = ModerationNotice { room_id, user, actor: Some(caller.user.clone()), until: None, reason };
    state.publisher.publish(ChatEvent::UserKicked(notice.clone())).await;
    Ok(notice)
}

/// Bans a user from the room (`ban` permission) for `duration_seconds` or until
/// unbanned: kicked if present, and refused when rejoining, being added or reopening a
/// direct message until it ends.
pub async fn ban(
    state: &AppState,
    caller: &AuthUser,
    room_id: RoomId,
    req: BanRequest,
) -> AppResult<ModerationNotice> {
    let access = RoomAccess::load(state, caller, room_id).await?;
    access.require(Permission::Ban)?;
    let reason = validate_reason(req.reason.as_deref())?;
    let user = match state.store.membership(room_id, req.user_id).await? {
        Some(_) => target(state, &access, req.user_id).await?,
        // Not in the room (yet): banning keeps them out; admins cannot be banned.
        None => {
            let user =
                state.store.users_by_ids(&[req.user_id]).await?.pop().ok_or(AppError::NotFound("user"))?;
            if user.role == Role::Admin {
                return Err(AppError::forbidden("the room's owner and admins cannot be moderated"));
            }
            user
        }
    };
    let now = state.clock.now_ms();
    let until = deadline(now, req.duration_seconds)?;
    let log = entry(room_id, caller, ModerationAction::Ban, user.id, reason.clone(), req.duration_seconds);
    let was_in = state.store.ban(room_id, user.id, until, &log, now).await?;
    if was_in {
        state.room_counts.adjust(room_id, -1);
    }
    super::typing::stopped_by_sending(state, room_id, user.id).await;
    let text = format!("{} banned {}", caller.user.display_name, user.display_name);
    super::messages::post_system_message(state, room_id, text).await?;
    let notice = ModerationNotice {
        room_id,
        user,
        actor: Some(caller.user.clone()),
        until: until.map(to_rfc3339),
        reason,
    };
    state.publisher.publish(ChatEvent::UserBanned { notice: notice.clone(), was_participant: was_in }).await;
    Ok(notice)
}

/// Lifts a ban (`ban` permission).
pub async fn unban(
    state: &AppState,
    caller: &AuthUser,
    room_id: RoomId,
    req: UnbanRequest,
) -> AppResult<ModerationNotice> {
    let access = RoomAccess::load(state, caller, room_id).await?;
    access.require(Permission::Ban)?;
    let user = state.store.users_by_ids(&[req.user_id]).await?.pop().ok_or(AppError::NotFound("user"))?;
    let log = entry(room_id, caller, ModerationAction::Unban, user.id, None, None);
    if !state.store.unban(room_id, user.id, &log, state.clock.now_ms()).await? {
        return Err(AppError::NotFound("ban"));
    }
    let text = format!("{} unbanned {}", caller.user.display_name, user.display_name);
    super::messages::post_system_message(state, room_id, text).await?;
    let notice =
        ModerationNotice { room_id, user, actor: Some(caller.user.clone()), until: None, reason: None };
    state.publisher.publish(ChatEvent::UserUnbanned(notice.clone())).await;
    Ok(notice)
}

/// The room's bans in force; for those who may ban.
pub async fn bans(state: &AppState, caller: &AuthUser, room_id: RoomId) -> AppResult<BanList> {
    let access = RoomAccess::load(state, caller, room_id).await?;
    access.require(Permission::Ban)?;
    Ok(BanList { bans: state.store.bans(room_id, state.clock.now_ms()).await? })
}

/// How fast members may post: slow mode (a room setting) and flood control (rooms with
/// moderation on; a rate limit, off with `EVENTSYNC_RATE_LIMITS=off`). Moderators are
/// exempt from both. Held per instance.
pub struct PostingLimits {
    last_post: std::sync::Mutex<std::collections::HashMap<(RoomId, UserId), Millis>>,
    flood: crate::ratelimit::SharedRateLimiter,
    flood_on: bool,
}

/// Entries above this count trigger a sweep of those older than the longest slow mode.
const SLOW_MODE_SWEEP: usize = 10_000;

impl PostingLimits {
    /// Flood limits counted on this instance, or (`shared`) with the other instances.
    pub fn new(
        limits: &crate::config::Limits,
        clock: crate::clock::SharedClock,
        shared: Option<std::sync::Arc<crate::ratelimit::SharedCounters>>,
    ) -> Self {
        let window = std::time::Duration::from_secs(limits.rate_limit_flood_window_seconds.max(1));
        PostingLimits {
            last_post: Default::default(),
            flood: crate::ratelimit::SharedRateLimiter::new(
                "flood",
                limits.rate_limit_flood_messages,
                window,
                clock,
                shared,
            ),
            flood_on: limits.rate_limits_on(),
        }
    }

    /// Counts a post by `user_id` in the room, or refuses it with when to try again.
    pub async fn check(
        &self,
        room: &RoomSettings,
        room_id: RoomId,
        user_id: UserId,
        now: Millis,
    ) -> AppResult<()> {
        if room.moderation_enabled && self.flood_on {
            self.flood
                .check(&format!("{room_id}:{user_id}"))
                .await
                .map_err(|wait| AppError::RateLimited { retry_after_secs: wait.as_secs().max(1) })?;
        }
        if room.slow_mode_seconds > 0 {
            let interval = room.slow_mode_seconds.saturating_mul(1000);
            let mut last = self.last_post.lock().unwrap_or_else(|p| p.into_inner());
            if last.len() > SLOW_MODE_SWEEP {
                last.retain(|_, at| now - *at < SLOW_MODE_MAX_SECONDS * 1000);
            }
            if let Some(at) = last.get(&(room_id, user_id))
                && now - at < interval
            {
                let wait_ms = interval - (now - at);
                return Err(AppError::RateLimited { retry_after_secs: ((wait_ms + 999) / 1000) as u64 });
            }
            last.insert((room_id, user_id), now);
        }
        Ok(())
    }
}

/// Bans a user from every room of an event, also rooms created later (the event's
/// organizer or an admin); each room's log records it.
pub async fn ban_from_event(
    state: &AppState,
    caller: &AuthUser,
    event_id: i64,
    req: BanRequest,
) -> AppResult<EventBanNotice> {
    let organizer = state.store.event_organizer(event_id).await?.ok_or(AppError::NotFound("event"))?;
    if organizer != caller.user.id && caller.user.role != Role::Admin {
        return Err(AppError::forbidden("only the event's organizer or an admin bans from a whole event"));
    }
    let reason = validate_reason(req.reason.as_deref())?;
    let user = state.store.users_by_ids(&[req.user_id]).await?.pop().ok_or(AppError::NotFound("user"))?;
    if user.role == Role::Admin || user.id == organizer {
        return Err(AppError::forbidden("the event's organizer and admins cannot be banned"));
    }
    let now = state.clock.now_ms();
    let until = deadline(now, req.duration_seconds)?;
    // The room id is filled in per room by the store.
    let log = entry(0, caller, ModerationAction::Ban, user.id, reason.clone(), req.duration_seconds);
    let rooms = state.store.ban_from_event(event_id, user.id, until, &log, now).await?;
    let text = format!("{} banned {} from the whole event", caller.user.display_name, user.display_name);
    for (room_id, was_in) in rooms {
        if was_in {
            state.room_counts.adjust(room_id, -1);
            super::typing::stopped_by_sending(state, room_id, user.id).await;
        }
        super::messages::post_system_message(state, room_id, text.clone()).await?;
        let notice = ModerationNotice {
            room_id,
            user: user.clone(),
            actor: Some(caller.user.clone()),
            until: until.map(to_rfc3339),
            reason: reason.clone(),
        };
        state.publisher.publish(ChatEvent::UserBanned { notice, was_participant: was_in }).await;
    }
    Ok(EventBanNotice { event_id, user, until: until.map(to_rfc3339), reason })
}

/// Lifts an event-wide ban (the event's organizer or an admin).
pub async fn unban_from_event(
    state: &AppState,
    caller: &AuthUser,
    event_id: i64,
    req: UnbanRequest,
) -> AppResult<EventBanNotice> {
    let organizer = state.store.event_organizer(event_id).await?.ok_or(AppError::NotFound("event"))?;
    if organizer != caller.user.id && caller.user.role != Role::Admin {
        return Err(AppError::forbidden("only the event's organizer or an admin lifts an event-wide ban"));
    }
    let user = state.store.users_by_ids(&[req.user_id]).await?.pop().ok_or(AppError::NotFound("user"))?;
    let log = entry(0, caller, ModerationAction::Unban, user.id, None, None);
    let Some(rooms) = state.store.unban_from_event(event_id, user.id, &log, state.clock.now_ms()).await?
    else {
        return Err(AppError::NotFound("ban"));
    };
    let text =
        format!("{} lifted {}'s ban from the whole event", caller.user.display_name, user.display_name);
    for room_id in rooms {
        super::messages::post_system_message(state, room_id, text.clone()).await?;
        let notice = ModerationNotice {
            room_id,
            user: user.clone(),
            actor: Some(caller.user.clone()),
            until: None,
            reason: None,
        };
        state.publisher.publish(ChatEvent::UserUnbanned(notice)).await;
    }
    Ok(EventBanNotice { event_id, user, until: None, reason: None })
}

/// Applies the blocked words (the server's and the room's) to a message's text in rooms
/// with moderation on: refused with the word named, or masked, as the room chooses.
pub fn filter_content(state: &AppState, room: &RoomSettings, content: String) -> AppResult<String> {
    if !room.moderation_enabled {
        return Ok(content);
    }
    let blocked: Vec<String> =
        state.limits.blocked_words.iter().chain(&room.blocked_words.0).cloned().collect();
    let Some(word) = words::find_blocked(&content, &blocked) else {
        return Ok(content);
    };
    match room.filter_mode {
        FilterMode::Reject => Err(AppError::validation(
            "blocked_content",
            format!("the message holds a word this room does not allow: {word:?}"),
        )),
        FilterMode::Mask => Ok(words::mask(&content, &blocked)),
    }
}
