//! Rooms: create, read, list, join, open (for a socket), leave, participants, settings,
//! read markers and preferences.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::access::RoomAccess;
use super::messages::{HISTORY_LIMIT_DEFAULT, REPLAY_LIMIT, post_system_message, resolve_cursor};
use super::publish::ChatEvent;
use crate::auth::AuthUser;
use crate::domain::message::Message;
use crate::domain::notification::ReadState;
use crate::domain::page_limit;
use crate::domain::room::{
    self, ADD_PARTICIPANTS_MAX, AddParticipants, CreateRoom, MarkRead, NotificationLevel, OpenRoom,
    Participant, ParticipantPage, ParticipantRole, Permission, Room, RoomId, RoomSettings, RoomSettingsPatch,
    RoomType, UpdatePreferences,
};
use crate::domain::user::{Role, User, UserId};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{NewRoom, PageQuery, is_unique_violation};

pub const PUBLIC_LIST_LIMIT_DEFAULT: i64 = 50;
pub const PUBLIC_LIST_LIMIT_MAX: i64 = 100;

/// A room in the caller's list.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoomListEntry {
    #[serde(flatten)]
    pub room: Room,
    pub unread_count: i64,
    pub mention_count: i64,
    /// Unread announcements (`event_update` messages) of the event.
    pub announcement_count: i64,
    pub last_message: Option<Message>,
    pub my_role: ParticipantRole,
    /// The other user of a direct message.
    pub direct_with: Option<User>,
}

/// `GET /api/chat/rooms/public` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct PublicRoomsQuery {
    /// Rooms with ids below this (keyset pagination).
    pub before: Option<RoomId>,
    /// 1–100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Preferences {
    pub room_id: RoomId,
    pub notifications: NotificationLevel,
    pub sound: bool,
}

/// The users with these ids, in the given order, in one query; 422 naming the first
/// unknown id.
async fn load_users(state: &AppState, user_ids: &[UserId]) -> AppResult<Vec<User>> {
    let found = state.store.users_by_ids(user_ids).await?;
    user_ids
        .iter()
        .map(|id| {
            found
                .iter()
                .find(|u| u.id == *id)
                .cloned()
                .ok_or_else(|| AppError::validation("unknown_user", format!("there is no user with id {id}")))
        })
        .collect()
}

/// A room as it is now, after a change.
async fn reload_room(state: &AppState, room_id: RoomId) -> AppResult<Room> {
    Ok(state.store.room(room_id).await?.ok_or(AppError::NotFound("room"))?.to_room())
}

/// Creates a room. A `private` room with exactly one other user is their direct message,
/// created once and returned again after that (`false` in the second field).
pub async fn create_room(state: &AppState, caller: &AuthUser, req: CreateRoom) -> AppResult<(Room, bool)> {
    let me = caller.user.id;
    let mut others: Vec<UserId> = req.participant_ids.clone().unwrap_or_default();
    others.sort_unstable();
    others.dedup();
    others.retain(|id| *id != me);
    if others.len() > ADD_PARTICIPANTS_MAX {
        return Err(AppError::validation(
            "too_many_participants",
            format!("at most {ADD_PARTICIPANTS_MAX} participants can be added at once"),
        ));
    }
    let users = load_users(state, &others).await?;
    let direct = req.room_type == RoomType::Private && users.len() == 1;
    let default_name = match req.room_type {
        RoomType::Event => {
            return Err(AppError::validation(
                "invalid_room_type",
                "event rooms are created with their event (POST /api/events)",
            ));
        }
        _ if direct => format!("{} & {}", caller.user.display_name, users[0].display_name),
        RoomType::Support => format!("Support: {}", caller.user.display_name),
        _ if req.settings.name().is_none() => {
            return Err(AppError::validation("invalid_field", "name is required"));
        }
        _ => String::new(),
    };
    // Two long display names can make a default longer than a name may be.
    let default_name: String = default_name.chars().take(room::NAME_MAX).collect();
    if let Some(event_id) = req.event_id {
        let organizer = state.store.event_organizer(event_id).await?.ok_or(AppError::NotFound("event"))?;
        if organizer != me && caller.user.role != Role::Admin {
            return Err(AppError::forbidden("only the event's organizer can add rooms to it"));
        }
    }
    let defaults =
        RoomSettings { is_public: req.room_type.public_by_default(), ..RoomSettings::new(default_name) };
    let settings = req.settings.apply(&defaults)?;
    if settings.is_public && !req.room_type.may_be_public() {
        return Err(AppError::validation(
            "invalid_field",
            format!("{} rooms cannot be public", req.room_type.as_str()),
        ));
    }
    let now = state.clock.now_ms();
    let (direct_key, members): (Option<String>, Vec<(UserId, ParticipantRole)>) = if direct {
        let key = room::direct_key(me, users[0].id);
        if let Some(existing) = state.store.room_by_direct_key(&key).await? {
            // Reopening a direct message brings the caller back into it, unless banned.
            super::moderation::require_not_banned(state, existing.room_id, me).await?;
            if state.store.add_participant(existing.room_id, me, ParticipantRole::Member, now).await? {
                state.room_counts.adjust(existing.room_id, 1);
                let joined = ChatEvent::UserJoined {
                    room_id: existing.room_id,
                    user: caller.user.clone(),
                    quiet: false,
                };
                state.publisher.publish(joined).await;
            }
            return Ok((reload_room(state, existing.room_id).await?, false));
        }
        (Some(key), vec![(me, ParticipantRole::Member), (users[0].id, ParticipantRole::Member)])
    } else if req.room_type == RoomType::Support {
        let mut members = vec![(me, ParticipantRole::Member)];
        for admin in state.store.admin_ids().await? {
            if admin != me {
                members.push((admin, ParticipantRole::Moderator));
            }
        }
        (None, members)
    } else {
        let mut members = vec![(me, ParticipantRole::Owner)];
        members.extend(users.iter().map(|u| (u.id, ParticipantRole::Member)));
        (None, members)
    };
    let new = NewRoom {
        room_type: req.room_type,
        settings: &settings,
        event_id: req.event_id,
        direct_key: direct_key.as_deref(),
        created_by: me,
        now,
    };
    let room_id = match state.store.insert_room(new, &members).await {
        Ok(id) => id,
        // Two first messages between the same pair raced: the other one created it.
        Err(err) if is_unique_violation(&err) && direct_key.is_some() => {
            let key = direct_key.as_deref().unwrap_or_default();
            let room = state.store.room_by_direct_key(key).await?.ok_or(AppError::NotFound("room"))?;
            return Ok((room.to_room(), false));
        }
        Err(err) => return Err(err.into()),
    };
    let room = reload_room(state, room_id).await?;
    let participant_ids = members.iter().map(|(id, _)| *id).collect();
    state.publisher.publish(ChatEvent::RoomCreated { room: room.clone(), participant_ids }).await;
    Ok((room, true))
}

pub async fn get_room(state: &AppState, caller: &AuthUser, room_id: RoomId) -> AppResult<Room> {
    Ok(RoomAccess::load(state, caller, room_id).await?.room.to_room())
}

/// The caller's rooms, most recently active first, with unread counts: three queries
/// however many rooms (the list, their last messages, the other users of direct messages).
pub async fn list_rooms(state: &AppState, caller: &AuthUser) -> AppResult<Vec<RoomListEntry>> {
    let rows = state.store.room_list(caller.user.id).await?;
    let message_ids: Vec<i64> = rows.iter().filter_map(|row| row.last_message_id).collect();
    let mut last_messages =
        state.store.messages_by_ids(&message_ids, Some(caller.user.id), state.clock.now_ms()).await?;
    let direct_ids: Vec<UserId> = rows.iter().filter_map(|row| row.direct_with_id).collect();
    let direct_users = state.store.users_by_ids(&direct_ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let last_message = row.last_message_id.and_then(|id| {
                let at = last_messages.iter().position(|m| m.id == id)?;
                Some(last_messages.swap_remove(at))
            });
            RoomListEntry {
                room: row.room.to_room(),
                unread_count: row.unread_count,
                mention_count: row.mention_count,
                announcement_count: row.announcement_count,
                last_message,
                my_role: row.my_role,
                direct_with: row
                    .direct_with_id
                    .and_then(|id| direct_users.iter().find(|u| u.id == id).cloned()),
            }
        })
        .collect())
}

pub async fn public_rooms(state: &AppState, query: PublicRoomsQuery) -> AppResult<Vec<Room>> {
    let limit = page_limit(query.limit, PUBLIC_LIST_LIMIT_DEFAULT, PUBLIC_LIST_LIMIT_MAX)?;
    let rows = state.store.public_rooms(query.before.unwrap_or(RoomId::MAX), limit).await?;
    Ok(rows.iter().map(|r| r.to_room()).collect())
}

/// The rooms of an event that the caller can see.
pub async fn rooms_of_event(state: &AppState, caller: &AuthUser, event_id: i64) -> AppResult<Vec<Room>> {
    state.store.event_organizer(event_id).await?.ok_or(AppError::NotFound("event"))?;
    let mut rooms = Vec::new();
    for row in state.store.rooms_of_event(event_id).await? {
        if RoomAccess::load(state, caller, row.room_id).await.is_ok() {
            rooms.push(row.to_room());
        }
    }
    Ok(rooms)
}

/// Makes the caller a participant if the room's rules allow it; joining twice is harmless.
pub async fn join_room(state: &AppState, caller: &AuthUser, room_id: RoomId) -> AppResult<Room> {
    let access = RoomAccess::load(state, caller, room_id).await?;
    if access.membership.is_none() {
        if !access.may_join(state, caller).await? {
            return Err(AppError::forbidden("you may not join this room"));
        }
        add_self(state, caller, room_id).await?;
    }
    reload_room(state, room_id).await
}

/// Makes the caller a participant (their right to join already checked), unless they
/// are banned from the room.
async fn add_self(state: &AppState, caller: &AuthUser, room_id: RoomId) -> AppResult<()> {
    super::moderation::require_not_banned(state, room_id, caller.user.id).await?;
    let now = state.clock.now_ms();
    let quiet = super::participants::is_large(state, room_id).await?;
    if state.store.add_participant(room_id, caller.user.id, ParticipantRole::Member, now).await? {
        state.room_counts.adjust(room_id, 1);
        state.publisher.publish(ChatEvent::UserJoined { room_id, user: caller.user.clone(), quiet }).await;
        if !quiet {
            post_system_message(state, room_id, format!("{} joined", caller.user.display_name)).await?;
        }
    }
    Ok(())
}

/// What a socket gets when it opens a room.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpenedRoom {
    pub room: Room,
    /// Owners and moderators, then who is online, then others: at most 50 (page the
    /// rest with `GET /api/chat/rooms/{id}/participants`).
    pub participants: Vec<Participant>,
    pub participant_count: i64,
    pub online_count: i64,
    pub messages: Vec<Message>,
    pub has_more: bool,
    /// Earlier messages edited, deleted or reacted to since `since`, in their current state.
    pub updates: Vec<Message>,
    /// The seq `messages` reach, when they reach the newest message at the time of
    /// reading (not when a replay stopped at its limit).
    #[serde(skip)]
    read_through: Option<i64>,
}

/// Opens a room for a socket: checks the request, joins the caller if they may join
/// and are not in yet (an admin reads without joining), then answers the room, its
/// participants and either the latest page or everything since `since`. A refused
/// request changes nothing.
pub async fn open_room(
    state: &AppState,
    caller: &AuthUser,
    room_id: RoomId,
    req: OpenRoom,
) -> AppResult<OpenedRoom> {
    let access = RoomAccess::load(state, caller, room_id).await?;
    let seen = match req.since {
        Some(since) => Some(resolve_cursor(state, room_id, since, "since").await?),
        None => None,
    };
    let mut joined = false;
    if access.membership.is_none() {
        if access.may_join(state, caller).await? {
            add_self(state, caller, room_id).await?;
            joined = true;
        } else if access.is_admin {
            access.require_reader(state, caller).await?;
        } else {
            return Err(AppError::forbidden("you may not join this room"));
        }
    }
    // Joining changed the participant count; otherwise the room is as just read.
    let room = if joined { reload_room(state, room_id).await? } else { access.room.to_room() };
    let preview = super::participants::preview(state, caller, room_id).await?;
    let now = state.clock.now_ms();
    let viewer = Some(caller.user.id);
    let (messages, has_more, updates, read_through) = match seen {
        Some(seen) => {
            let after = PageQuery::After { after_seq: seen.seq, limit: REPLAY_LIMIT };
            let (messages, has_more) = state.store.messages(room_id, after, viewer, now).await?;
            let changed = PageQuery::ChangedSince {
                up_to_seq: seen.seq,
                since_change: seen.created_change,
                limit: REPLAY_LIMIT,
            };
            let (updates, _) = state.store.messages(room_id, changed, viewer, now).await?;
            let through = (!has_more).then(|| newest_seq(&messages).unwrap_or(seen.seq));
            (messages, has_more, updates, through)
        }
        None => {
            let latest = PageQuery::Before { before_seq: i64::MAX, limit: HISTORY_LIMIT_DEFAULT };
            let (messages, has_more) = state.store.messages(room_id, latest, viewer, now).await?;
            let through = newest_seq(&messages).unwrap_or(0);
            (messages, has_more, Vec::new(), Some(through))
        }
    };
    Ok(OpenedRoom {
        room,
        participants: preview.participants,
        participant_count: preview.participant_count,
        online_count: preview.online_count,
        messages,
        has_more,
        updates,
        read_through,
    })
}

fn newest_seq(messages: &[Message]) -> Option<i64> {
    messages.iter().map(|m| m.seq).max()
}

/// Adds what was posted after `opened` was read. A socket starts receiving a room's
/// broadcasts only after opening it (it may not see them before its access is
/// checked), so a message sent in between would reach it neither live nor in the answer.
pub async fn catch_up(
    state: &AppState,
    caller: &AuthUser,
    room_id: RoomId,
    opened: &mut OpenedRoom,
) -> AppResult<()> {
    let Some(through) = opened.read_through else { return Ok(()) };
    let after = PageQuery::After { after_seq: through, limit: REPLAY_LIMIT };
    let (late, _) = state.store.messages(room_id, after, Some(caller.user.id), state.clock.now_ms()).await?;
    opened.messages.extend(late);
    Ok(())
}

/// Stops being a participant.
pub async fn leave_room(state: &AppState, caller: &AuthUser, room_id: RoomId) -> AppResult<()> {
    let access = RoomAccess::load(state, caller, room_id).await?;
    access.require_participant()?;
    let quiet = super::participants::is_large(state, room_id).await?;
    if state.store.remove_participant(room_id, caller.user.id).await? {
        state.room_counts.adjust(room_id, -1);
        super::typing::stopped_by_sending(state, room_id, caller.user.id).await;
        if !quiet {
            post_system_message(state, room_id, format!("{} left", caller.user.display_name)).await?;
        }
        state.publisher.publish(ChatEvent::UserLeft { room_id, user: caller.user.clone(), quiet }).await;
    }
    Ok(())
}

/// Adds users to a room (owner, moderators with `manage_room`, admins).
pub async fn add_participants(
    state: &AppState,
    caller: &AuthUser,
    room_id: RoomId,
    req: AddParticipants,
) -> AppResult<ParticipantPage> {
    let access = RoomAccess::load(state, caller, room_id).await?;
    access.require(Permission::ManageRoom)?;
    if access.room.direct_key.is_some() {
        return Err(AppError::validation("invalid_room_type", "direct messages are between two users only"));
    }
    if req.user_ids.is_empty() || req.user_ids.len() > ADD_PARTICIPANTS_MAX {
        return Err(AppError::validation(
            "invalid_field",
            format!("user_ids must list 1–{ADD_PARTICIPANTS_MAX} users"),
        ));
    }
    let users = load_users(state, &req.user_ids).await?;
    super::moderation::require_none_banned(state, room_id, &users).await?;
    let now = state.clock.now_ms();
    for user in users {
        if state.store.add_participant(room_id, user.id, ParticipantRole::Member, now).await? {
            state.room_counts.adjust(room_id, 1);
            let text = format!("{} added {}", caller.user.display_name, user.display_name);
            state.publisher.publish(ChatEvent::UserJoined { room_id, user, quiet: false }).await;
            post_system_message(state, room_id, text).await?;
        }
    }
    super::participants::list(state, caller, room_id, Default::default()).await
}

/// Removes a participant: oneself (leaving), or someone else with `manage_room`.
pub async fn remove_participant(
    state: &AppState,
    caller: &AuthUser,
    room_id: RoomId,
    user_id: UserId,
) -> AppResult<()> {
    if user_id == caller.user.id {
        return leave_room(state, caller, room_id).await;
    }
    let access = RoomAccess::load(state, caller, room_id).await?;
    super::moderation::remove_participant(state, caller, &access, user_id).await
}

/// Changes room settings (`manage_room`) and tells the room.
pub async fn update_room(
    state: &AppState,
    caller: &AuthUser,
    room_id: RoomId,
    req: RoomSettingsPatch,
) -> AppResult<Room> {
    let access = RoomAccess::load(state, caller, room_id).await?;
    access.require(Permission::ManageRoom)?;
    let current = &access.room.settings;
    let next = req.apply(current)?;
    if next.is_public && !access.room.room_type.may_be_public() {
        // A rule of this room's type, which the body cannot know: a conflict.
        return Err(AppError::conflict("invalid_field", "this kind of room cannot be public"));
    }
    if next == *current {
        return Ok(access.room.to_room());
    }
    state.store.update_room_settings(room_id, &next).await?;
    let changed = current.changed_fields(&next).join(", ").replace('_', " ");
    let text = format!("{} changed the room's settings: {changed}", caller.user.display_name);
    post_system_message(state, room_id, text).await?;
    let room = reload_room(state, room_id).await?;
    state.publisher.publish(ChatEvent::RoomUpdated(room.clone())).await;
    Ok(room)
}

/// Marks everything up to `message_id` read; the user's other sockets are told.
pub async fn mark_read(
    state: &AppState,
    caller: &AuthUser,
    room_id: RoomId,
    req: MarkRead,
) -> AppResult<ReadState> {
    let message_id = req.message_id;
    let access = RoomAccess::load(state, caller, room_id).await?;
    access.require_participant()?;
    let facts = state.store.message_facts(message_id).await?.ok_or(AppError::NotFound("message"))?;
    if facts.room_id != room_id {
        // Another room's message is, for this room, a message that does not exist.
        return Err(AppError::NotFound("message"));
    }
    state.store.mark_read(room_id, caller.user.id, facts.seq, message_id).await?;
    let (unread_count, mention_count) = state.store.unread_counts(room_id, caller.user.id).await?;
    let last_read =
        state.store.membership(room_id, caller.user.id).await?.and_then(|m| m.last_read_message_id);
    let read = ReadState { room_id, last_read_message_id: last_read, unread_count, mention_count };
    state.publisher.publish(ChatEvent::RoomRead { user_id: caller.user.id, state: read.clone() }).await;
    Ok(read)
}

/// The caller's notification level and sound for the room.
pub async fn preferences(state: &AppState, caller: &AuthUser, room_id: RoomId) -> AppResult<Preferences> {
    let access = RoomAccess::load(state, caller, room_id).await?;
    let membership = access.require_participant()?;
    Ok(Preferences { room_id, notifications: membership.notifications, sound: membership.sound })
}

pub async fn set_preferences(
    state: &AppState,
    caller: &AuthUser,
    room_id: RoomId,
    req: UpdatePreferences,
) -> AppResult<Preferences> {
    let access = RoomAccess::load(state, caller, room_id).await?;
    let membership = access.require_participant()?;
    let notifications = req.notifications.unwrap_or(membership.notifications);
    let sound = req.sound.unwrap_or(membership.sound);
    state.store.set_preferences(room_id, caller.user.id, notifications, sound).await?;
    Ok(Preferences { room_id, notifications, sound })
}
