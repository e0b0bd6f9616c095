//! `/api/chat/rooms/{id}/messages` and `/api/chat/messages/*`: history, sending, replies,
//! edits, deletes, reactions and poll votes.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Json, Path, Query};
use crate::auth::AuthUser;
use crate::chat::messages::{self, EditHistory, HistoryQuery, MessagePage};
use crate::domain::message::{
    Deleted, EditMessage, Message, MessageId, PollUpdate, React, ReactionUpdate, SendMessage, Vote,
};
use crate::domain::room::RoomId;
use crate::error::{AppResult, ErrorBody};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(history, send_message))
        .routes(routes!(replies))
        .routes(routes!(edit_message))
        .routes(routes!(edit_history))
        .routes(routes!(delete_message))
        .routes(routes!(add_reaction, remove_reaction))
        .routes(routes!(vote))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Thread {
    pub messages: Vec<Message>,
}

/// # `GET /api/chat/rooms/{id}/messages`
///
/// History, oldest first: the latest page, `?before=<id>` for older, `?after=<id>` to
/// catch up. Participants only.
#[utoipa::path(get, path = "/api/chat/rooms/{id}/messages", tag = "messages", params(("id" = i64, Path), HistoryQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = MessagePage),
        (status = 403, description = "`not_participant`", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "`invalid_limit`, `invalid_cursor`", body = ErrorBody),
    ))]
async fn history(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(room_id): Path<RoomId>,
    Query(query): Query<HistoryQuery>,
) -> AppResult<axum::Json<MessagePage>> {
    Ok(axum::Json(messages::history(&state, &auth, room_id, query).await?))
}

/// # `POST /api/chat/rooms/{id}/messages`
///
/// Sends a message; broadcast to the room exactly like `send_chat_message`. A repeated
/// `client_id` answers 200 with the first message and stores nothing.
#[utoipa::path(post, path = "/api/chat/rooms/{id}/messages", tag = "messages", params(("id" = i64, Path)),
    request_body = SendMessage, security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 201, body = Message),
        (status = 200, description = "Same client_id as an earlier send", body = Message),
        (status = 403, description = "`not_participant`, `muted`, `forbidden`, `posting_restricted`", body = ErrorBody),
        (status = 422, description = "`invalid_content`, `invalid_reply`, `invalid_poll`, `blocked_content`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: slow mode or flood control (`Retry-After` says when)", body = ErrorBody),
    ))]
async fn send_message(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(room_id): Path<RoomId>,
    Json(req): Json<SendMessage>,
) -> AppResult<(StatusCode, axum::Json<Message>)> {
    let (message, created) = messages::send_message(&state, &auth, room_id, req).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, axum::Json(message)))
}

/// # `GET /api/chat/messages/{id}/replies`
///
/// The thread: replies to a message, oldest first.
#[utoipa::path(get, path = "/api/chat/messages/{id}/replies", tag = "messages", params(("id" = i64, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Thread), (status = 404, body = ErrorBody)))]
async fn replies(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(message_id): Path<MessageId>,
) -> AppResult<axum::Json<Thread>> {
    Ok(axum::Json(Thread { messages: messages::replies(&state, &auth, message_id).await? }))
}

/// # `PUT /api/chat/messages/{id}/edit`
///
/// The sender only, within the edit window; earlier versions are kept.
#[utoipa::path(put, path = "/api/chat/messages/{id}/edit", tag = "messages", params(("id" = i64, Path)),
    request_body = EditMessage, security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = Message),
        (status = 403, description = "`not_sender`, `edit_window_expired`", body = ErrorBody),
        (status = 409, description = "`message_deleted`, `invalid_message_type` (not a text message)", body = ErrorBody),
    ))]
async fn edit_message(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(message_id): Path<MessageId>,
    Json(req): Json<EditMessage>,
) -> AppResult<axum::Json<Message>> {
    Ok(axum::Json(messages::edit_message(&state, &auth, message_id, req).await?))
}

/// # `GET /api/chat/messages/{id}/history`
///
/// Every earlier text of an edited message, oldest first: for the sender and the room's
/// moderators holding `delete_messages`.
#[utoipa::path(get, path = "/api/chat/messages/{id}/history", tag = "messages", params(("id" = i64, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = EditHistory),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`message_deleted`", body = ErrorBody),
    ))]
async fn edit_history(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(message_id): Path<MessageId>,
) -> AppResult<axum::Json<EditHistory>> {
    Ok(axum::Json(messages::edit_history(&state, &auth, message_id).await?))
}

/// # `DELETE /api/chat/messages/{id}/delete`
///
/// The sender, the room owner or a moderator. The message keeps its place with
/// `content: null`.
#[utoipa::path(delete, path = "/api/chat/messages/{id}/delete", tag = "messages", params(("id" = i64, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Deleted), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_message(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(message_id): Path<MessageId>,
) -> AppResult<axum::Json<Deleted>> {
    Ok(axum::Json(messages::delete_message(&state, &auth, message_id).await?))
}

/// # `POST /api/chat/messages/{id}/react`
#[utoipa::path(post, path = "/api/chat/messages/{id}/react", tag = "messages", params(("id" = i64, Path)),
    request_body = React, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = ReactionUpdate), (status = 409, description = "`message_deleted`", body = ErrorBody),
        (status = 422, description = "`invalid_emoji`", body = ErrorBody)))]
async fn add_reaction(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(message_id): Path<MessageId>,
    Json(req): Json<React>,
) -> AppResult<axum::Json<ReactionUpdate>> {
    Ok(axum::Json(messages::set_reaction(&state, &auth, message_id, req, true).await?))
}

/// # `DELETE /api/chat/messages/{id}/react`
#[utoipa::path(delete, path = "/api/chat/messages/{id}/react", tag = "messages", params(("id" = i64, Path)),
    request_body = React, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = ReactionUpdate), (status = 409, description = "`message_deleted`", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn remove_reaction(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(message_id): Path<MessageId>,
    Json(req): Json<React>,
) -> AppResult<axum::Json<ReactionUpdate>> {
    Ok(axum::Json(messages::set_reaction(&state, &auth, message_id, req, false).await?))
}

/// # `POST /api/chat/messages/{id}/vote`
///
/// Replaces the caller's vote on a poll; everyone in the room gets `poll_updated`.
#[utoipa::path(post, path = "/api/chat/messages/{id}/vote", tag = "messages", params(("id" = i64, Path)),
    request_body = Vote, security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = PollUpdate),
        (status = 409, description = "`poll_closed`, `message_deleted`, `not_a_poll`, `invalid_vote` (no such option, or several on a single-choice poll)", body = ErrorBody),
        (status = 422, description = "`invalid_vote`: no option, or a negative one", body = ErrorBody),
    ))]
async fn vote(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(message_id): Path<MessageId>,
    Json(req): Json<Vote>,
) -> AppResult<axum::Json<PollUpdate>> {
    Ok(axum::Json(messages::vote(&state, &auth, message_id, req).await?))
}
