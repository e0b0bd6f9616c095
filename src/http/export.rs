//! `GET /api/chat/rooms/{id}/export`: a room's transcript, streamed.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Path, Query};
use crate::auth::AuthUser;
use crate::chat::export::{self, ExportFormat, ExportQuery};
use crate::domain::room::RoomId;
use crate::error::{AppResult, ErrorBody};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export_room))
}

/// # `GET /api/chat/rooms/{id}/export`
///
/// The room's transcript for its moderators: every message oldest first (sender, role,
/// time, edits and deletions marked, reactions, attachments), then the Q&A with votes.
/// `format=json` (default: `{room, exported_at, messages, questions}`) or `csv` (one
/// row per message or question). Streamed: memory stays flat however long the room.
#[utoipa::path(get, path = "/api/chat/rooms/{id}/export", tag = "rooms", params(("id" = i64, Path), ExportQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The transcript: JSON, or CSV with `format=csv`", content_type = "*/*"),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn export_room(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(room_id): Path<RoomId>,
    Query(query): Query<ExportQuery>,
) -> AppResult<Response> {
    let (room, format, stream) = export::export(&state, &auth, room_id, query).await?;
    let (mime, ext) = match format {
        ExportFormat::Json => ("application/json", "json"),
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
    };
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    let disposition = format!("attachment; filename=\"room-{}-transcript.{ext}\"", room.id);
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(response)
}
