//! `/api/chat/rooms*` and `/api/chat/events/{id}/rooms`: rooms, participants, settings,
//! read markers and preferences.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Json, Path, Query};
use crate::auth::AuthUser;
use crate::chat::participants;
use crate::chat::rooms::{self, Preferences, PublicRoomsQuery, RoomListEntry};
use crate::domain::notification::ReadState;
use crate::domain::room::{
    AddParticipants, CreateRoom, MarkRead, ParticipantPage, ParticipantQuery, Room, RoomId,
    RoomSettingsPatch, UpdatePreferences,
};
use crate::domain::user::UserId;
use crate::error::{AppResult, ErrorBody};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_rooms, create_room))
        .routes(routes!(public_rooms))
        .routes(routes!(get_room, update_room))
        .routes(routes!(join_room))
        .routes(routes!(leave_room))
        .routes(routes!(participants, add_participants))
        .routes(routes!(remove_participant))
        .routes(routes!(mark_room_read))
        .routes(routes!(preferences, set_preferences))
        .routes(routes!(event_rooms))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoomList {
    pub rooms: Vec<RoomListEntry>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Rooms {
    pub rooms: Vec<Room>,
}

/// # `GET /api/chat/rooms`
///
/// The caller's rooms, most recently active first, with unread and mention counts.
#[utoipa::path(get, path = "/api/chat/rooms", tag = "rooms", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = RoomList), (status = 401, body = ErrorBody)))]
async fn list_rooms(State(state): State<AppState>, auth: AuthUser) -> AppResult<axum::Json<RoomList>> {
    Ok(axum::Json(RoomList { rooms: rooms::list_rooms(&state, &auth).await? }))
}

/// # `POST /api/chat/rooms`
///
/// Creates a room. A `private` room with exactly one other user is a direct message:
/// answered 200 with the existing room when it already exists.
#[utoipa::path(post, path = "/api/chat/rooms", tag = "rooms", request_body = CreateRoom,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 201, description = "Created", body = Room),
        (status = 200, description = "The existing direct message", body = Room),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 404, description = "`not_found`: no such event", body = ErrorBody),
        (status = 422, description = "`invalid_field`, `invalid_room_type`, `unknown_user`", body = ErrorBody),
    ))]
async fn create_room(
    State(state): State<AppState>,
    auth: AuthUser,
    Json(req): Json<CreateRoom>,
) -> AppResult<(StatusCode, axum::Json<Room>)> {
    let (room, created) = rooms::create_room(&state, &auth, req).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, axum::Json(room)))
}

/// # `GET /api/chat/rooms/public`
///
/// Public rooms anyone signed in can join, newest first.
#[utoipa::path(get, path = "/api/chat/rooms/public", tag = "rooms", params(PublicRoomsQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Rooms), (status = 422, body = ErrorBody)))]
async fn public_rooms(
    State(state): State<AppState>,
    _auth: AuthUser,
    Query(query): Query<PublicRoomsQuery>,
) -> AppResult<axum::Json<Rooms>> {
    Ok(axum::Json(Rooms { rooms: rooms::public_rooms(&state, query).await? }))
}

/// # `GET /api/chat/rooms/{id}`
#[utoipa::path(get, path = "/api/chat/rooms/{id}", tag = "rooms", params(("id" = i64, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Room), (status = 404, body = ErrorBody)))]
async fn get_room(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(room_id): Path<RoomId>,
) -> AppResult<axum::Json<Room>> {
    Ok(axum::Json(rooms::get_room(&state, &auth, room_id).await?))
}

/// # `PATCH /api/chat/rooms/{id}`
///
/// Changes settings (owner, moderators, admins); the room is told with a system message
/// and `room_updated`.
#[utoipa::path(patch, path = "/api/chat/rooms/{id}", tag = "rooms", params(("id" = i64, Path)),
    request_body = RoomSettingsPatch, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Room), (status = 403, body = ErrorBody),
        (status = 409, description = "`invalid_field`: this room's type cannot be public", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn update_room(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(room_id): Path<RoomId>,
    Json(req): Json<RoomSettingsPatch>,
) -> AppResult<axum::Json<Room>> {
    Ok(axum::Json(rooms::update_room(&state, &auth, room_id, req).await?))
}

/// # `POST /api/chat/rooms/{id}/join`
#[utoipa::path(post, path = "/api/chat/rooms/{id}/join", tag = "rooms", params(("id" = i64, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = Room),
        (status = 403, description = "`forbidden`: the room's rules do not let the caller in", body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn join_room(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(room_id): Path<RoomId>,
) -> AppResult<axum::Json<Room>> {
    Ok(axum::Json(rooms::join_room(&state, &auth, room_id).await?))
}

/// # `POST /api/chat/rooms/{id}/leave`
#[utoipa::path(post, path = "/api/chat/rooms/{id}/leave", tag = "rooms", params(("id" = i64, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn leave_room(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(room_id): Path<RoomId>,
) -> AppResult<StatusCode> {
    rooms::leave_room(&state, &auth, room_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `GET /api/chat/rooms/{id}/participants`
///
/// A page of participants with presence: owners, moderators, then members, each by
/// username. `after` pages on, `status=online` keeps those who show online (such a page
/// may be short while `has_more` is true), `q` matches a username or display-name
/// prefix. With the room's `participant_count` and `online_count`.
#[utoipa::path(get, path = "/api/chat/rooms/{id}/participants", tag = "rooms", params(("id" = i64, Path), ParticipantQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = ParticipantPage),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "`invalid_limit`, `invalid_cursor`, `invalid_query`", body = ErrorBody),
    ))]
async fn participants(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(room_id): Path<RoomId>,
    Query(query): Query<ParticipantQuery>,
) -> AppResult<axum::Json<ParticipantPage>> {
    Ok(axum::Json(participants::list(&state, &auth, room_id, query).await?))
}

/// # `POST /api/chat/rooms/{id}/participants`
///
/// Adds users (owner, moderators, admins).
#[utoipa::path(post, path = "/api/chat/rooms/{id}/participants", tag = "rooms", params(("id" = i64, Path)),
    request_body = AddParticipants, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The first page of participants", body = ParticipantPage), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_participants(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(room_id): Path<RoomId>,
    Json(req): Json<AddParticipants>,
) -> AppResult<axum::Json<ParticipantPage>> {
    Ok(axum::Json(rooms::add_participants(&state, &auth, room_id, req).await?))
}

/// # `DELETE /api/chat/rooms/{id}/participants/{user_id}`
///
/// Removes a participant (owner, moderators, admins); removing yourself is leaving.
#[utoipa::path(delete, path = "/api/chat/rooms/{id}/participants/{user_id}", tag = "rooms",
    params(("id" = i64, Path), ("user_id" = i64, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn remove_participant(
    State(state): State<AppState>,
    auth: AuthUser,
    Path((room_id, user_id)): Path<(RoomId, UserId)>,
) -> AppResult<StatusCode> {
    rooms::remove_participant(&state, &auth, room_id, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `POST /api/chat/rooms/{id}/read`
///
/// Marks the room read up to a message; the caller's other sockets get `room_read`.
#[utoipa::path(post, path = "/api/chat/rooms/{id}/read", tag = "rooms", params(("id" = i64, Path)),
    request_body = MarkRead, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = ReadState), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn mark_room_read(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(room_id): Path<RoomId>,
    Json(req): Json<MarkRead>,
) -> AppResult<axum::Json<ReadState>> {
    Ok(axum::Json(rooms::mark_read(&state, &auth, room_id, req).await?))
}

/// # `GET /api/chat/rooms/{id}/preferences`
///
/// The caller's notification level and sound for this room.
#[utoipa::path(get, path = "/api/chat/rooms/{id}/preferences", tag = "rooms", params(("id" = i64, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Preferences), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn preferences(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(room_id): Path<RoomId>,
) -> AppResult<axum::Json<Preferences>> {
    Ok(axum::Json(rooms::preferences(&state, &auth, room_id).await?))
}

/// # `PUT /api/chat/rooms/{id}/preferences`
///
/// The caller's notification level (`all`, `mentions`, `none`) and sound for this room.
#[utoipa::path(put, path = "/api/chat/rooms/{id}/preferences", tag = "rooms", params(("id" = i64, Path)),
    request_body = UpdatePreferences, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Preferences), (status = 403, body = ErrorBody)))]
async fn set_preferences(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(room_id): Path<RoomId>,
    Json(req): Json<UpdatePreferences>,
) -> AppResult<axum::Json<Preferences>> {
    Ok(axum::Json(rooms::set_preferences(&state, &auth, room_id, req).await?))
}

/// # `GET /api/chat/events/{id}/rooms`
///
/// The event's rooms that the caller can see.
#[utoipa::path(get, path = "/api/chat/events/{id}/rooms", tag = "rooms", params(("id" = i64, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Rooms), (status = 404, body = ErrorBody)))]
async fn event_rooms(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(event_id): Path<i64>,
) -> AppResult<axum::Json<Rooms>> {
    Ok(axum::Json(Rooms { rooms: rooms::rooms_of_event(&state, &auth, event_id).await? }))
}
