//! `/api/chat/presence`: set one's own presence, read others'.

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Json, Query};
use crate::auth::AuthUser;
use crate::chat::presence;
use crate::domain::presence::{PresenceList, PresenceQuery, SetPresence, UserPresence};
use crate::error::{AppResult, ErrorBody};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(set_presence, get_presence))
}

/// # `PUT /api/chat/presence`
///
/// Sets the caller's status and custom message, exactly like `update_presence`; the
/// users who share a room with the caller get `presence_updated`. `invisible` looks
/// `offline` to them.
#[utoipa::path(put, path = "/api/chat/presence", tag = "presence", request_body = SetPresence,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The caller's presence as they see it", body = UserPresence),
        (status = 401, body = ErrorBody),
        (status = 422, description = "`invalid_status`, `invalid_field`", body = ErrorBody),
    ))]
async fn set_presence(
    State(state): State<AppState>,
    auth: AuthUser,
    Json(req): Json<SetPresence>,
) -> AppResult<axum::Json<UserPresence>> {
    Ok(axum::Json(presence::set_presence(&state, &auth, req).await?))
}

/// # `GET /api/chat/presence?user_ids=1,2,3`
///
/// Several users' presence as the caller sees them.
#[utoipa::path(get, path = "/api/chat/presence", tag = "presence", params(PresenceQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = PresenceList),
        (status = 401, body = ErrorBody),
        (status = 422, description = "`invalid_query`", body = ErrorBody),
    ))]
async fn get_presence(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(query): Query<PresenceQuery>,
) -> AppResult<axum::Json<PresenceList>> {
    let ids = query.ids()?;
    Ok(axum::Json(PresenceList { presence: presence::presence_of(&state, &auth, &ids) }))
}
