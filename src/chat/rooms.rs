//! Rooms: create, read, list, join, leave, participants, settings, read markers.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::access::RoomAccess;
use super::messages::post_system_message;
use super::publish::{ChatEvent, ReadState};
use crate::auth::AuthUser;
use crate::domain::message::{Message, MessageId};
use crate::domain::room::{
    self, ADD_PARTICIPANTS_MAX, CreateRoom, NotificationLevel, Participant, ParticipantRole, Permission,
    Room, RoomId, RoomSettings, RoomType, UpdateRoom,
};
use crate::domain::user::{User, UserId};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{NewRoom, is_unique_violation};

pub const PUBLIC_LIST_LIMIT_MAX: i64 = 100;

/// A room in the caller's list.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoomListEntry {
    #[serde(flatten)]
    pub room: Room,
    pub unread_count: i64,
    pub mention_count: i64,
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
    pub limit: Option<i64>,
}

/// `POST /api/chat/rooms/{id}/participants` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AddParticipants {
    pub user_ids: Vec<UserId>,
}

/// `PUT /api/chat/rooms/{id}/preferences` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdatePreferences {
    pub notifications: Option<NotificationLevel>,
    pub sound: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Preferences {
    pub room_id: RoomId,
    pub notifications: NotificationLevel,
    pub sound: bool,
}

async fn user_exists(state: &AppState, user_id: UserId) -> AppResult<User> {
    state
        .store
        .user_by_id(user_id)
        .await?
        .ok_or_else(|| AppError::validation("unknown_user", format!("there is no user with id {user_id}")))
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
    let mut users = Vec::with_capacity(others.len());
    for id in &others {
        users.push(user_exists(state, *id).await?);
    }
    let now = state.clock.now_ms();
    let public_allowed = matches!(req.room_type, RoomType::General | RoomType::Group);
    let is_public = req.is_public.unwrap_or(req.room_type.public_by_default());
    if is_public && !public_allowed {
        return Err(AppError::validation(
            "invalid_field",
            format!("{} rooms cannot be public", req.room_type.as_str()),
        ));
    }
    let name_or = |default: String| match req.name.as_deref() {
        Some(name) => room::validate_name(name),
        None => Ok(default),
    };
    let (name, direct_key, members): (String, Option<String>, Vec<(UserId, ParticipantRole)>) = match req
        .room_type
    {
        RoomType::Event => {
            return Err(AppError::validation(
                "invalid_room_type",
                "event rooms are created with their event (POST /api/events)",
            ));
        }
        RoomType::Private if users.len() == 1 => {
            let key = room::direct_key(me, users[0].id);
            if let Some(existing) = state.store.room_by_direct_key(&key).await? {
                // Reopening a direct message brings the caller back into it.
                if state.store.add_participant(existing.room_id, me, ParticipantRole::Member, now).await? {
                    state
                        .broadcaster
                        .publish(ChatEvent::UserJoined {
                            room_id: existing.room_id,
                            user: caller.user.clone(),
                        })
                        .await;
                }
                let room = state.store.room(existing.room_id).await?.ok_or(AppError::NotFound("room"))?;
                return Ok((room.to_room(), false));
            }
            let name = name_or(format!("{} & {}", caller.user.display_name, users[0].display_name))?;
            (name, Some(key), vec![(me, ParticipantRole::Member), (users[0].id, ParticipantRole::Member)])
        }
        RoomType::Support => {
            let name = name_or(format!("Support: {}", caller.user.display_name))?;
            let mut members = vec![(me, ParticipantRole::Member)];
            for admin in state.store.admin_ids().await? {
                if admin != me {
                    members.push((admin, ParticipantRole::Moderator));
                }
            }
            (name, None, members)
        }
        RoomType::Private | RoomType::Group | RoomType::General => {
            let name = match req.name.as_deref() {
                Some(name) => room::validate_name(name)?,
                None => return Err(AppError::validation("invalid_field", "name is required")),
            };
            let mut members = vec![(me, ParticipantRole::Owner)];
            members.extend(users.iter().map(|u| (u.id, ParticipantRole::Member)));
            (name, None, members)
        }
    };
    if let Some(event_id) = req.event_id {
        let organizer = state.store.event_organizer(event_id).await?.ok_or(AppError::NotFound("event"))?;
        if organizer != me && caller.user.role != crate::domain::user::Role::Admin {
            return Err(AppError::forbidden("only the event's organizer can add rooms to it"));
        }
    }
    let settings = RoomSettings {
        name,
        description: room::validate_description(req.description.as_deref().unwrap_or(""))?,
        is_public,
        allow_files: req.allow_files.unwrap_or(true),
        allow_voice: req.allow_voice.unwrap_or(true),
        moderation_enabled: req.moderation_enabled.unwrap_or(false),
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
    let room = state.store.room(room_id).await?.ok_or(AppError::NotFound("room"))?.to_room();
    for (user_id, _) in &members {
        state.broadcaster.subscribe(*user_id, room_id).await;
    }
    state.broadcaster.publish(ChatEvent::RoomUpdated(room.clone())).await;
    Ok((room, true))
}

pub async fn get_room(state: &AppState, caller: &AuthUser, room_id: RoomId) -> AppResult<Room> {
    Ok(RoomAccess::load(state, caller, room_id).await?.room.to_room())
}

/// The caller's rooms, most recently active first, with unread counts.
pub async fn list_rooms(state: &AppState, caller: &AuthUser) -> AppResult<Vec<RoomListEntry>> {
    let now = state.clock.now_ms();
    let rows = state.store.room_list(caller.user.id).await?;
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows {
        let last_message = match row.last_message_id {
            Some(id) => state.store.message(id, caller.user.id, now).await?,
            None => None,
        };
        let direct_with = if row.room.direct_key.is_some() {
            let participants = state.store.participants(row.room.room_id).await?;
            participants.into_iter().find(|p| p.user_id() != caller.user.id).map(|p| p.into_user())
        } else {
            None
        };
        entries.push(RoomListEntry {
            room: row.room.to_room(),
            unread_count: row.unread_count,
            mention_count: row.mention_count,
            last_message,
            my_role: ParticipantRole::from_stored(&row.my_role),
            direct_with,
        });
    }
    Ok(entries)
}

pub async fn public_rooms(state: &AppState, query: PublicRoomsQuery) -> AppResult<Vec<Room>> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=PUBLIC_LIST_LIMIT_MAX).contains(&limit) {
        return Err(AppError::validation(
            "invalid_limit",
            format!("limit must be 1–{PUBLIC_LIST_LIMIT_MAX}"),
        ));
    }
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
        let now = state.clock.now_ms();
        if state.store.add_participant(room_id, caller.user.id, ParticipantRole::Member, now).await? {
            state.broadcaster.publish(ChatEvent::UserJoined { room_id, user: caller.user.clone() }).await;
            post_system_message(state, room_id, format!("{} joined", caller.user.display_name)).await?;
        }
    }
    Ok(state.store.room(room_id).await?.ok_or(AppError::NotFound("room"))?.to_room())
}

/// Stops being a participant.
pub async fn leave_room(state: &AppState, caller: &AuthUser, room_id: RoomId) -> AppResult<()> {
    let access = RoomAccess::load(state, caller, room_id).await?;
    access.require_participant()?;
    if state.store.remove_participant(room_id, caller.user.id).await? {
        post_system_message(state, room_id, format!("{} left", caller.user.display_name)).await?;
        state.broadcaster.publish(ChatEvent::UserLeft { room_id, user: caller.user.clone() }).await;
    }
    Ok(())
}

/// Participants with presence; for participants and admins.
pub async fn participants(
    state: &AppState,
    caller: &AuthUser,
    room_id: RoomId,
) -> AppResult<Vec<Participant>> {
    let access = RoomAccess::load(state, caller, room_id).await?;
    if !access.is_admin {
        access.require_participant()?;
    }
    participants_with_presence(state, room_id).await
}

/// A room's participants with their presence, for a caller already allowed to see them.
pub(super) async fn participants_with_presence(
    state: &AppState,
    room_id: RoomId,
) -> AppResult<Vec<Participant>> {
    let rows = state.store.participants(room_id).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let presence = state.presence.presence(row.user_id());
            row.into_participant(presence)
        })
        .collect())
}

/// Adds users to a room (owner, moderators with `manage_room`, admins).
pub async fn add_participants(
    state: &AppState,
    caller: &AuthUser,
    room_id: RoomId,
    req: AddParticipants,
) -> AppResult<Vec<Participant>> {
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
    let mut users = Vec::with_capacity(req.user_ids.len());
    for id in &req.user_ids {
        users.push(user_exists(state, *id).await?);
    }
    let now = state.clock.now_ms();
    for user in users {
        if state.store.add_participant(room_id, user.id, ParticipantRole::Member, now).await? {
            let text = format!("{} added {}", caller.user.display_name, user.display_name);
            state.broadcaster.publish(ChatEvent::UserJoined { room_id, user }).await;
            post_system_message(state, room_id, text).await?;
        }
    }
    participants(state, caller, room_id).await
}

/// Removes a participant (`manage_room`); the owner can only be removed by an admin.
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
    access.require(Permission::ManageRoom)?;
    let target = state.store.membership(room_id, user_id).await?.ok_or(AppError::NotFound("participant"))?;
    if target.role() == ParticipantRole::Owner && !access.is_admin {
        return Err(AppError::forbidden("the room's owner cannot be removed"));
    }
    let user = user_exists(state, user_id).await?;
    if state.store.remove_participant(room_id, user_id).await? {
        let text = format!("{} removed {}", caller.user.display_name, user.display_name);
        post_system_message(state, room_id, text).await?;
        state.broadcaster.publish(ChatEvent::UserLeft { room_id, user }).await;
    }
    Ok(())
}

/// Changes room settings (`manage_room`) and tells the room.
pub async fn update_room(
    state: &AppState,
    caller: &AuthUser,
    room_id: RoomId,
    req: UpdateRoom,
) -> AppResult<Room> {
    let access = RoomAccess::load(state, caller, room_id).await?;
    access.require(Permission::ManageRoom)?;
    if req.is_empty() {
        return Err(AppError::validation("invalid_body", "nothing to change"));
    }
    let current = access.room.settings();
    let next = req.apply(&current)?;
    let public_allowed = matches!(access.room.room_type(), RoomType::General | RoomType::Group);
    if next.is_public && !public_allowed {
        return Err(AppError::validation("invalid_field", "this kind of room cannot be public"));
    }
    if next == current {
        return Ok(access.room.to_room());
    }
    state.store.update_room_settings(room_id, &next).await?;
    let changed: Vec<&str> = [
        ("name", next.name != current.name),
        ("description", next.description != current.description),
        ("visibility", next.is_public != current.is_public),
        ("files", next.allow_files != current.allow_files),
        ("voice", next.allow_voice != current.allow_voice),
        ("moderation", next.moderation_enabled != current.moderation_enabled),
    ]
    .into_iter()
    .filter_map(|(what, differs)| differs.then_some(what))
    .collect();
    post_system_message(
        state,
        room_id,
        format!("{} changed the room's {}", caller.user.display_name, changed.join(", ")),
    )
    .await?;
    let room = state.store.room(room_id).await?.ok_or(AppError::NotFound("room"))?.to_room();
    state.broadcaster.publish(ChatEvent::RoomUpdated(room.clone())).await;
    Ok(room)
}

/// Marks everything up to `message_id` read; the user's other sockets are told.
pub async fn mark_read(
    state: &AppState,
    caller: &AuthUser,
    room_id: RoomId,
    message_id: MessageId,
) -> AppResult<ReadState> {
    let access = RoomAccess::load(state, caller, room_id).await?;
    access.require_participant()?;
    let facts = state.store.message_facts(message_id).await?.ok_or(AppError::NotFound("message"))?;
    if facts.room_id != room_id {
        return Err(AppError::validation("invalid_message", "message_id must name a message of this room"));
    }
    state.store.mark_read(room_id, caller.user.id, facts.seq, message_id).await?;
    let (unread_count, mention_count) = state.store.unread_counts(room_id, caller.user.id).await?;
    let last_read =
        state.store.membership(room_id, caller.user.id).await?.and_then(|m| m.last_read_message_id);
    let read = ReadState { room_id, last_read_message_id: last_read, unread_count, mention_count };
    state.broadcaster.publish(ChatEvent::RoomRead { user_id: caller.user.id, state: read.clone() }).await;
    Ok(read)
}

pub async fn set_preferences(
    state: &AppState,
    caller: &AuthUser,
    room_id: RoomId,
    req: UpdatePreferences,
) -> AppResult<Preferences> {
    let access = RoomAccess::load(state, caller, room_id).await?;
    let membership = access.require_participant()?;
    let notifications = req.notifications.unwrap_or(membership.notifications());
    let sound = req.sound.unwrap_or(membership.sound);
    state.store.set_preferences(room_id, caller.user.id, notifications, sound).await?;
    Ok(Preferences { room_id, notifications, sound })
}
