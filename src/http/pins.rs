//! `/api/chat/messages/{id}/pin` and `/api/chat/rooms/{id}/pins`: pinned messages.

use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::Path;
use crate::auth::AuthUser;
use crate::chat::pins;
use crate::domain::message::{MessageId, PinList, PinnedMessage, Unpinned};
use crate::domain::room::RoomId;
use crate::error::{AppResult, ErrorBody};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(pin_message, unpin_message)).routes(routes!(list_pins))
}

/// # `POST /api/chat/messages/{id}/pin`
///
/// Pins the message in its room (`manage_room`), broadcast as `message_pinned`; at most
/// 50 pins per room. Pinning a pinned message answers 200 and changes nothing.
#[utoipa::path(post, path = "/api/chat/messages/{id}/pin", tag = "messages", params(("id" = i64, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 201, body = PinnedMessage),
        (status = 200, description = "Already pinned", body = PinnedMessage),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`pin_limit_reached`, `message_deleted`", body = ErrorBody),
    ))]
async fn pin_message(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(message_id): Path<MessageId>,
) -> AppResult<(StatusCode, axum::Json<PinnedMessage>)> {
    let (pin, added) = pins::pin(&state, &auth, message_id).await?;
    Ok((if added { StatusCode::CREATED } else { StatusCode::OK }, axum::Json(pin)))
}

/// # `DELETE /api/chat/messages/{id}/pin`
///
/// Unpins the message (`manage_room`), broadcast as `message_unpinned`.
#[utoipa::path(delete, path = "/api/chat/messages/{id}/pin", tag = "messages", params(("id" = i64, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Unpinned), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn unpin_message(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(message_id): Path<MessageId>,
) -> AppResult<axum::Json<Unpinned>> {
    Ok(axum::Json(pins::unpin(&state, &auth, message_id).await?))
}

/// # `GET /api/chat/rooms/{id}/pins`
///
/// The room's pinned messages, newest first (its readers).
#[utoipa::path(get, path = "/api/chat/rooms/{id}/pins", tag = "rooms", params(("id" = i64, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = PinList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_pins(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(room_id): Path<RoomId>,
) -> AppResult<axum::Json<PinList>> {
    Ok(axum::Json(pins::list(&state, &auth, room_id).await?))
}
