//! `/api/chat/rooms/{id}/moderation-log` and the moderation actions on a room.

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::Json;
use super::extract::{Path, Query};
use crate::auth::AuthUser;
use crate::chat::moderation;
use crate::domain::moderation::{
    BanList, BanRequest, KickRequest, ModerationLog, ModerationLogQuery, ModerationNotice, MuteRequest,
    UnbanRequest, UnmuteRequest,
};
use crate::domain::room::{GrantModerator, Moderator, ModeratorList, RoomId};
use crate::domain::user::UserId;
use crate::error::{AppResult, ErrorBody};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(moderation_log))
        .routes(routes!(mute))
        .routes(routes!(unmute))
        .routes(routes!(kick))
        .routes(routes!(ban))
        .routes(routes!(unban))
        .routes(routes!(bans))
        .routes(routes!(moderators))
        .routes(routes!(grant_moderator, revoke_moderator))
}

/// # `GET /api/chat/rooms/{id}/moderation-log`
///
/// Who did what to whom, newest first (`before` pages back); the room's moderators and
/// admins only. Admins' reads of rooms they do not participate in are entries too.
#[utoipa::path(get, path = "/api/chat/rooms/{id}/moderation-log", tag = "moderation",
    params(("id" = i64, Path), ModerationLogQuery), security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = ModerationLog),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "`invalid_limit`", body = ErrorBody),
    ))]
async fn moderation_log(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(room_id): Path<RoomId>,
    Query(query): Query<ModerationLogQuery>,
) -> AppResult<axum::Json<ModerationLog>> {
    Ok(axum::Json(moderation::moderation_log(&state, &auth, room_id, query).await?))
}

/// # `POST /api/chat/rooms/{id}/mute`
///
/// Mutes a participant (`mute` permission) for `duration_seconds`, or until unmuted:
/// they read but cannot post, react, vote or type. The room gets `user_muted`.
#[utoipa::path(post, path = "/api/chat/rooms/{id}/mute", tag = "moderation", params(("id" = i64, Path)),
    request_body = MuteRequest, security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = ModerationNotice),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`forbidden`: no `mute` permission, or the target is the owner or an admin", body = ErrorBody),
        (status = 404, description = "No such room or participant", body = ErrorBody),
        (status = 422, description = "`invalid_field`, `invalid_body`", body = ErrorBody),
    ))]
async fn mute(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(room_id): Path<RoomId>,
    Json(req): Json<MuteRequest>,
) -> AppResult<axum::Json<ModerationNotice>> {
    Ok(axum::Json(moderation::mute(&state, &auth, room_id, req).await?))
}

/// # `POST /api/chat/rooms/{id}/unmute`
#[utoipa::path(post, path = "/api/chat/rooms/{id}/unmute", tag = "moderation", params(("id" = i64, Path)),
    request_body = UnmuteRequest, security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = ModerationNotice),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn unmute(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(room_id): Path<RoomId>,
    Json(req): Json<UnmuteRequest>,
) -> AppResult<axum::Json<ModerationNotice>> {
    Ok(axum::Json(moderation::unmute(&state, &auth, room_id, req).await?))
}

/// # `POST /api/chat/rooms/{id}/kick`
///
/// Removes a participant (`kick` permission); their sockets stop following the room at
/// once. The room gets `user_kicked`.
#[utoipa::path(post, path = "/api/chat/rooms/{id}/kick", tag = "moderation", params(("id" = i64, Path)),
    request_body = KickRequest, security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = ModerationNotice),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn kick(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(room_id): Path<RoomId>,
    Json(req): Json<KickRequest>,
) -> AppResult<axum::Json<ModerationNotice>> {
    Ok(axum::Json(moderation::kick(&state, &auth, room_id, req).await?))
}

/// # `POST /api/chat/rooms/{id}/ban`
///
/// Bans a user (`ban` permission) for `duration_seconds` or until unbanned: removed now,
/// refused rejoining (403 `banned`) until it ends. The room gets `user_banned`.
#[utoipa::path(post, path = "/api/chat/rooms/{id}/ban", tag = "moderation", params(("id" = i64, Path)),
    request_body = BanRequest, security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = ModerationNotice),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn ban(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(room_id): Path<RoomId>,
    Json(req): Json<BanRequest>,
) -> AppResult<axum::Json<ModerationNotice>> {
    Ok(axum::Json(moderation::ban(&state, &auth, room_id, req).await?))
}

/// # `POST /api/chat/rooms/{id}/unban`
#[utoipa::path(post, path = "/api/chat/rooms/{id}/unban", tag = "moderation", params(("id" = i64, Path)),
    request_body = UnbanRequest, security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = ModerationNotice),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "No such user, or no ban", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn unban(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(room_id): Path<RoomId>,
    Json(req): Json<UnbanRequest>,
) -> AppResult<axum::Json<ModerationNotice>> {
    Ok(axum::Json(moderation::unban(&state, &auth, room_id, req).await?))
}

/// # `GET /api/chat/rooms/{id}/bans`
///
/// The bans in force, newest first (`ban` permission).
#[utoipa::path(get, path = "/api/chat/rooms/{id}/bans", tag = "moderation", params(("id" = i64, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = BanList),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn bans(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(room_id): Path<RoomId>,
) -> AppResult<axum::Json<BanList>> {
    Ok(axum::Json(moderation::bans(&state, &auth, room_id).await?))
}

/// # `GET /api/chat/rooms/{id}/moderators`
///
/// The room's owners and moderators with their permissions.
#[utoipa::path(get, path = "/api/chat/rooms/{id}/moderators", tag = "moderation", params(("id" = i64, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = ModeratorList),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn moderators(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(room_id): Path<RoomId>,
) -> AppResult<axum::Json<ModeratorList>> {
    Ok(axum::Json(moderation::moderators(&state, &auth, room_id).await?))
}

/// # `PUT /api/chat/rooms/{id}/moderators/{user_id}`
///
/// Grants a participant exactly these permissions (`manage_moderators`); nobody grants
/// a permission they do not hold.
#[utoipa::path(put, path = "/api/chat/rooms/{id}/moderators/{user_id}", tag = "moderation",
    params(("id" = i64, Path), ("user_id" = i64, Path)), request_body = GrantModerator,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = Moderator),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn grant_moderator(
    State(state): State<AppState>,
    auth: AuthUser,
    Path((room_id, user_id)): Path<(RoomId, UserId)>,
    Json(req): Json<GrantModerator>,
) -> AppResult<axum::Json<Moderator>> {
    Ok(axum::Json(moderation::grant_moderator(&state, &auth, room_id, user_id, req).await?))
}

/// # `DELETE /api/chat/rooms/{id}/moderators/{user_id}`
///
/// Makes a moderator a plain member again (`manage_moderators`).
#[utoipa::path(delete, path = "/api/chat/rooms/{id}/moderators/{user_id}", tag = "moderation",
    params(("id" = i64, Path), ("user_id" = i64, Path)), security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Now a member"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn revoke_moderator(
    State(state): State<AppState>,
    auth: AuthUser,
    Path((room_id, user_id)): Path<(RoomId, UserId)>,
) -> AppResult<axum::http::StatusCode> {
    moderation::revoke_moderator(&state, &auth, room_id, user_id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
