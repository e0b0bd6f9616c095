//! `/api/chat/rooms/{id}/moderation-log` and the moderation actions on a room.

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Path, Query};
use crate::auth::AuthUser;
use crate::chat::moderation;
use crate::domain::moderation::{ModerationLog, ModerationLogQuery};
use crate::domain::room::RoomId;
use crate::error::{AppResult, ErrorBody};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(moderation_log))
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
