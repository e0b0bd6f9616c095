//! `/api/chat/rooms/{id}/questions*`: session Q&A.

use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Json, Path, Query};
use crate::auth::AuthUser;
use crate::chat::qa::{self, Moderate};
use crate::domain::qa::{AskQuestion, Question, QuestionFlag, QuestionId, QuestionPage, QuestionQuery};
use crate::domain::room::RoomId;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_questions, ask_question))
        .routes(routes!(vote_question))
        .routes(routes!(approve_question))
        .routes(routes!(answer_question))
        .routes(routes!(pin_question))
        .routes(routes!(hide_question))
}

/// # `GET /api/chat/rooms/{id}/questions`
///
/// Approved questions (and the caller's own under review), by votes (default) or time;
/// moderators may list `status=pending` (the review queue) or `hidden`. Authors of
/// anonymous questions show to moderators only.
#[utoipa::path(get, path = "/api/chat/rooms/{id}/questions", tag = "qa", params(("id" = i64, Path), QuestionQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = QuestionPage),
        (status = 403, description = "`qa_disabled`, `not_participant`, `forbidden`", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "`invalid_limit`, `invalid_cursor`", body = ErrorBody),
    ))]
async fn list_questions(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(room_id): Path<RoomId>,
    Query(query): Query<QuestionQuery>,
) -> AppResult<axum::Json<QuestionPage>> {
    Ok(axum::Json(qa::list(&state, &auth, room_id, query).await?))
}

/// # `POST /api/chat/rooms/{id}/questions`
///
/// Asks a question (participants who are not muted); with `qa_moderation` it waits for a
/// moderator's approval.
#[utoipa::path(post, path = "/api/chat/rooms/{id}/questions", tag = "qa", params(("id" = i64, Path)),
    request_body = AskQuestion, security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 201, body = Question),
        (status = 403, description = "`qa_disabled`, `not_participant`, `muted`", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "`invalid_content`, `blocked_content`", body = ErrorBody),
    ))]
async fn ask_question(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(room_id): Path<RoomId>,
    Json(req): Json<AskQuestion>,
) -> AppResult<(StatusCode, axum::Json<Question>)> {
    Ok((StatusCode::CREATED, axum::Json(qa::ask(&state, &auth, room_id, req).await?)))
}

/// 404 unless the question is of the room in the path.
async fn check_room(state: &AppState, room_id: RoomId, question_id: QuestionId) -> AppResult<()> {
    match state.store.question(question_id, 0).await? {
        Some(row) if row.room_id == room_id => Ok(()),
        _ => Err(AppError::NotFound("question")),
    }
}

/// # `POST /api/chat/rooms/{id}/questions/{qid}/vote`
///
/// Votes for the question, or takes the vote back (a toggle: one vote per person).
#[utoipa::path(post, path = "/api/chat/rooms/{id}/questions/{qid}/vote", tag = "qa",
    params(("id" = i64, Path), ("qid" = i64, Path)), security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = Question),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`question_not_open`", body = ErrorBody),
    ))]
async fn vote_question(
    State(state): State<AppState>,
    auth: AuthUser,
    Path((room_id, question_id)): Path<(RoomId, QuestionId)>,
) -> AppResult<axum::Json<Question>> {
    check_room(&state, room_id, question_id).await?;
    Ok(axum::Json(qa::vote(&state, &auth, question_id).await?))
}

async fn moderate(
    state: &AppState,
    auth: &AuthUser,
    room_id: RoomId,
    question_id: QuestionId,
    action: Moderate,
) -> AppResult<axum::Json<Question>> {
    check_room(state, room_id, question_id).await?;
    Ok(axum::Json(qa::moderate(state, auth, question_id, action).await?))
}

/// # `POST /api/chat/rooms/{id}/questions/{qid}/approve`
///
/// Moves a question from the review queue to everyone (moderators).
#[utoipa::path(post, path = "/api/chat/rooms/{id}/questions/{qid}/approve", tag = "qa",
    params(("id" = i64, Path), ("qid" = i64, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Question), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn approve_question(
    State(state): State<AppState>,
    auth: AuthUser,
    Path((room_id, question_id)): Path<(RoomId, QuestionId)>,
) -> AppResult<axum::Json<Question>> {
    moderate(&state, &auth, room_id, question_id, Moderate::Approve).await
}

/// # `POST /api/chat/rooms/{id}/questions/{qid}/answer`
///
/// Marks the question answered (`?value=false` undoes it; moderators).
#[utoipa::path(post, path = "/api/chat/rooms/{id}/questions/{qid}/answer", tag = "qa",
    params(("id" = i64, Path), ("qid" = i64, Path), QuestionFlag), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Question), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn answer_question(
    State(state): State<AppState>,
    auth: AuthUser,
    Path((room_id, question_id)): Path<(RoomId, QuestionId)>,
    Query(flag): Query<QuestionFlag>,
) -> AppResult<axum::Json<Question>> {
    moderate(&state, &auth, room_id, question_id, Moderate::answer(flag)).await
}

/// # `POST /api/chat/rooms/{id}/questions/{qid}/pin`
///
/// Pins the question as the room's "now answering", unpinning any other (`?value=false`
/// unpins it; moderators).
#[utoipa::path(post, path = "/api/chat/rooms/{id}/questions/{qid}/pin", tag = "qa",
    params(("id" = i64, Path), ("qid" = i64, Path), QuestionFlag), security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = Question),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`question_not_open`", body = ErrorBody),
    ))]
async fn pin_question(
    State(state): State<AppState>,
    auth: AuthUser,
    Path((room_id, question_id)): Path<(RoomId, QuestionId)>,
    Query(flag): Query<QuestionFlag>,
) -> AppResult<axum::Json<Question>> {
    moderate(&state, &auth, room_id, question_id, Moderate::pin(flag)).await
}

/// # `POST /api/chat/rooms/{id}/questions/{qid}/hide`
///
/// Takes the question down: only moderators see it from then on.
#[utoipa::path(post, path = "/api/chat/rooms/{id}/questions/{qid}/hide", tag = "qa",
    params(("id" = i64, Path), ("qid" = i64, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Question), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn hide_question(
    State(state): State<AppState>,
    auth: AuthUser,
    Path((room_id, question_id)): Path<(RoomId, QuestionId)>,
) -> AppResult<axum::Json<Question>> {
    moderate(&state, &auth, room_id, question_id, Moderate::Hide).await
}
