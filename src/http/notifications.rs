//! `/api/chat/notifications*`: the caller's notifications list.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::Path;
use super::extract::{Json, Query};
use crate::auth::AuthUser;
use crate::chat::notifications::{self, MarkNotificationsRead, MarkedRead, NotificationsQuery, UnreadCount};
use crate::domain::notification::Notification;
use crate::error::{AppResult, ErrorBody};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(mark_notifications_read))
        .routes(routes!(mark_one_read))
        .routes(routes!(unread_count))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Notifications {
    pub notifications: Vec<Notification>,
}

/// # `GET /api/chat/notifications`
///
/// Newest first.
#[utoipa::path(get, path = "/api/chat/notifications", tag = "notifications", params(NotificationsQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Notifications), (status = 422, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(query): Query<NotificationsQuery>,
) -> AppResult<axum::Json<Notifications>> {
    Ok(axum::Json(Notifications { notifications: notifications::list(&state, &auth, query).await? }))
}

/// # `POST /api/chat/notifications/read`
///
/// Marks notifications read, up to `up_to` or all.
#[utoipa::path(post, path = "/api/chat/notifications/read", tag = "notifications",
    request_body = MarkNotificationsRead, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = MarkedRead)))]
async fn mark_notifications_read(
    State(state): State<AppState>,
    auth: AuthUser,
    Json(req): Json<MarkNotificationsRead>,
) -> AppResult<axum::Json<MarkedRead>> {
    Ok(axum::Json(notifications::mark_read(&state, &auth, req).await?))
}

/// # `POST /api/chat/notifications/{id}/read`
///
/// Marks one notification read; answers it with `read_at` set.
#[utoipa::path(post, path = "/api/chat/notifications/{id}/read", tag = "notifications",
    params(("id" = i64, Path)), security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = Notification),
        (status = 401, body = ErrorBody),
        (status = 404, description = "Not the caller's notification", body = ErrorBody),
    ))]
async fn mark_one_read(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<Notification>> {
    Ok(axum::Json(notifications::mark_one_read(&state, &auth, id).await?))
}

/// # `GET /api/chat/notifications/unread-count`
#[utoipa::path(get, path = "/api/chat/notifications/unread-count", tag = "notifications",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = UnreadCount), (status = 401, body = ErrorBody)))]
async fn unread_count(State(state): State<AppState>, auth: AuthUser) -> AppResult<axum::Json<UnreadCount>> {
    Ok(axum::Json(notifications::unread_count(&state, &auth).await?))
}
