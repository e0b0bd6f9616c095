//! `/api/chat/rooms/{id}/upload` and `/api/chat/files/*`: uploads streamed from
//! multipart bodies, downloads with ranges and validators, thumbnails, the download log.

use std::ops::Range;

use axum::body::Body;
use axum::extract::multipart::{Field, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::Path;
use crate::auth::AuthUser;
use crate::chat::files::{self, IncomingFile, UploadTicket};
use crate::domain::file::{DownloadLog, FileId, UploadFields, content_disposition};
use crate::domain::message::Message;
use crate::domain::room::RoomId;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::state::AppState;
use crate::store::FileRow;

/// Longest text part of an upload (caption, expires_in, client_id), in bytes.
const TEXT_PART_MAX: usize = 16 * 1024;
/// How long the rest of an over-limit body is read and discarded, so that the client,
/// still sending, gets to read the 413 rather than a reset connection.
const LINGER: std::time::Duration = std::time::Duration::from_secs(10);
/// What file responses may do when opened as a page: nothing.
const FILE_CSP: &str = "sandbox; default-src 'none'";

/// Whether `path` is an upload's: its body is bounded by the upload limit, counted as
/// it streams, not by the JSON body limit.
pub fn is_upload_path(path: &str) -> bool {
    path.strip_prefix("/api/chat/rooms/")
        .and_then(|rest| rest.strip_suffix("/upload"))
        .is_some_and(|id| !id.contains('/'))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        // The file part is counted against the upload limit as it arrives, and every
        // other part is small and appears at most once, so the body needs no other bound.
        .routes(routes!(upload))
        .layer(DefaultBodyLimit::disable())
        .routes(routes!(download))
        .routes(routes!(thumbnail))
        .routes(routes!(downloads))
}

/// The multipart form of an upload, for the API document.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The file; its name's extension must be allowed and agree with its content.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// Message text shown with the file (≤ 4000 characters).
    #[schema(max_length = 4000, pattern = "text")]
    caption: Option<String>,
    /// Seconds until the file expires (1 – the server's maximum, default 30 days; the
    /// document states this server's maximum).
    #[schema(minimum = 1, maximum = 2592000)]
    expires_in: Option<i64>,
    /// Makes retries idempotent: a second upload with the same id returns the first message.
    #[schema(min_length = 1, max_length = 64, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$")]
    client_id: Option<String>,
}

fn multipart_error(err: axum::extract::multipart::MultipartError) -> AppError {
    if super::extract::caused_by_timeout(&err) {
        return AppError::RequestTimeout;
    }
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return AppError::PayloadTooLarge(format!("the upload is too large: {}", err.body_text()));
    }
    AppError::bad_request(
        "invalid_multipart",
        format!("the multipart body could not be read: {}", err.body_text()),
    )
}

/// A small text part, refused when over [`TEXT_PART_MAX`].
async fn text_part(mut field: Field<'_>) -> AppResult<String> {
    let name = field.name().unwrap_or_default().to_owned();
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if bytes.len() + chunk.len() > TEXT_PART_MAX {
            return Err(AppError::validation("invalid_field", format!("{name} is too long")));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes)
        .map_err(|_| AppError::validation("invalid_field", format!("{name} must be UTF-8 text")))
}

/// Streams the `file` part into `incoming`.
async fn receive(field: &mut Field<'_>, incoming: &mut IncomingFile) -> AppResult<()> {
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        incoming.write(chunk).await?;
    }
    Ok(())
}

/// Reads the parts: the one `file` streamed to storage, the text fields kept.
async fn read_form(
    state: &AppState,
    ticket: &UploadTicket,
    multipart: &mut Multipart,
) -> AppResult<(Option<files::ReceivedFile>, UploadFields)> {
    let mut fields = UploadFields::default();
    let mut received = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(err) => {
                if let Some(done) = received.take() {
                    files::discard_received(state, done).await;
                }
                return Err(multipart_error(err));
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        let repeated = match name.as_str() {
            "caption" => fields.caption.is_some(),
            "expires_in" => fields.expires_in.is_some(),
            "client_id" => fields.client_id.is_some(),
            "file" => received.is_some(),
            _ => false,
        };
        let outcome = match name.as_str() {
            _ if repeated => Err(AppError::validation(
                "duplicate_field",
                format!("the form has more than one {name:?} part"),
            )),
            "file" => {
                let mut field = field;
                match ticket.accept(state, field.file_name()).await {
                    Ok(mut incoming) => match receive(&mut field, &mut incoming).await {
                        Ok(()) => incoming.finish().await.map(|done| received = Some(done)),
                        Err(err) => {
                            incoming.abort().await;
                            Err(err)
                        }
                    },
                    Err(err) => Err(err),
                }
            }
            "caption" => text_part(field).await.map(|text| fields.caption = Some(text)),
            "expires_in" => text_part(field).await.map(|text| fields.expires_in = Some(text)),
            "client_id" => text_part(field).await.map(|text| fields.client_id = Some(text)),
            other => Err(AppError::validation(
                "unknown_field",
                format!("unknown form field {other:?}; expected file, caption, expires_in, client_id"),
            )),
        };
        if let Err(err) = outcome {
            if let Some(done) = received.take() {
                files::discard_received(state, done).await;
            }
            return Err(err);
        }
    }
    Ok((received, fields))
}

/// Reads and drops what is left of a refused body (for a while, up to `cap` bytes), so
/// the client reads the answer instead of a reset while it is still sending.
async fn linger(multipart: &mut Multipart, cap: u64) {
    let drain = async {
        let mut read = 0u64;
        while let Ok(Some(mut field)) = multipart.next_field().await {
            while let Ok(Some(chunk)) = field.chunk().await {
                read += chunk.len() as u64;
                if read > cap {
                    return;
                }
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

/// # `POST /api/chat/rooms/{id}/upload`
///
/// Uploads one file (multipart: `file`, optional `caption`, `expires_in`, `client_id`)
/// and posts it as a message of type image/file/audio/video, broadcast like any
/// message. Participants who are not muted, in rooms with `allow_files` (and
/// `allow_voice` for audio). The file is streamed to storage, never held in memory;
/// its extension must be allowed and its content must agree with it.
#[utoipa::path(post, path = "/api/chat/rooms/{id}/upload", tag = "files", params(("id" = i64, Path)),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 201, body = Message),
        (status = 200, description = "Same client_id as an earlier upload", body = Message),
        (status = 400, description = "`invalid_multipart`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`not_participant`, `muted`, `files_not_allowed`, `voice_not_allowed`", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 413, description = "Over `EVENTSYNC_MAX_UPLOAD_BYTES`", body = ErrorBody),
        (status = 415, description = "Extension not allowed, or content that does not match it", body = ErrorBody),
        (status = 408, description = "`request_timeout`: the body stopped arriving", body = ErrorBody),
        (status = 422, description = "`missing_file`, `empty_file`, `invalid_file_name`, `image_too_large`, `invalid_image`, `invalid_expires_in`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: slow mode or flood control", body = ErrorBody),
    ))]
async fn upload(
    State(state): State<AppState>,
    auth: Result<AuthUser, AppError>,
    room_id: Result<Path<RoomId>, AppError>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let mut multipart = multipart.ok();
    let cap = state.limits.max_upload_bytes.saturating_add(1 << 20);
    // A body declared too large to drain is refused at once (before it is sent, for a
    // client that waits for `100 Continue`).
    let drainable = declared_length(&headers).is_none_or(|n| n <= cap);
    let answer = match (auth, room_id) {
        (Ok(auth), Ok(Path(room_id))) => {
            receive_upload(&state, auth, room_id, headers, multipart.as_mut()).await
        }
        (Err(err), _) | (_, Err(err)) => Err(err),
    };
    match answer {
        Ok(answer) => answer.into_response(),
        // A refused upload's body may not have been read. Read on for a moment so the
        // client, still sending, gets the answer rather than a reset; the connection
        // cannot carry another request, and the client should know before it tries.
        Err(err) => {
            let stalled = err.status() == StatusCode::REQUEST_TIMEOUT;
            if let Some(multipart) = multipart.as_mut().filter(|_| drainable && !stalled) {
                linger(multipart, cap).await;
            }
            let mut response = err.into_response();
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
    }
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

async fn receive_upload(
    state: &AppState,
    auth: AuthUser,
    room_id: RoomId,
    headers: HeaderMap,
    multipart: Option<&mut Multipart>,
) -> AppResult<(StatusCode, axum::Json<Message>)> {
    let declared = declared_length(&headers);
    let ticket = files::authorize_upload(state, &auth, room_id, declared).await?;
    let multipart = multipart.ok_or_else(|| {
        AppError::UnsupportedMediaType("expected a multipart/form-data body with a `file` part".into())
    })?;
    let (received, fields) = read_form(state, &ticket, multipart).await?;
    let received =
        received.ok_or_else(|| AppError::validation("missing_file", "the form has no `file` part"))?;
    let (message, created) = files::finish_upload(state, &auth, ticket, received, fields).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, axum::Json(message)))
}

/// `"<sha256>"`: a strong validator, the same for every copy of the content.
fn etag(row: &FileRow) -> String {
    format!("\"{}\"", row.sha256)
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}

/// Whether `If-None-Match` names the file's current content.
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers.get_all(header::IF_NONE_MATCH).iter().filter_map(|v| v.to_str().ok()).any(|list| {
        list.split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || tag == etag || tag.strip_prefix("W/") == Some(etag))
    })
}

/// What a `Range` header asks of a file of `size` bytes with validator `etag`: `Ok(None)`
/// for the whole file (no header; one the server may ignore: malformed, several or
/// overlapping ranges; or an `If-Range` naming other content), else 416 when no range
/// lies in the file.
fn requested_range(headers: &HeaderMap, size: u64, etag: &str) -> Result<Option<Range<u64>>, ()> {
    use http_range_header::RangeUnsatisfiableError as E;
    let Some(value) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else { return Ok(None) };
    if let Some(if_range) = headers.get(header::IF_RANGE)
        && if_range.to_str().map(str::trim).ok() != Some(etag)
    {
        return Ok(None);
    }
    match http_range_header::parse_range_header(value).and_then(|parsed| parsed.validate(size)) {
        Ok(ranges) if ranges.len() == 1 => Ok(Some(*ranges[0].start()..ranges[0].end() + 1)),
        Err(E::Unsatisfiable) => Err(()),
        Ok(_) | Err(_) => Ok(None),
    }
}

/// # `GET /api/chat/files/{id}/download`
///
/// The file, as an attachment with its stored type. Participants of its room only (404
/// for others who may not know the room). `Range` (one range) answers 206 so players
/// can seek; `If-None-Match` with the ETag answers 304. 410 once the file expired. A
/// download that reaches the end of the file is counted and logged.
#[utoipa::path(get, path = "/api/chat/files/{id}/download", tag = "files", params(("id" = i64, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The file, with its stored type", content_type = "*/*"),
        (status = 206, description = "The requested range", content_type = "*/*"),
        (status = 304, description = "Not modified (ETag)"),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`not_participant`", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 410, description = "`file_expired`", body = ErrorBody),
        (status = 416, description = "`range_not_satisfiable`", body = ErrorBody),
    ))]
async fn download(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(file_id): Path<FileId>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let row = files::file_for(&state, &auth, file_id).await?;
    let tag = etag(&row);
    let size = row.size_bytes.max(0) as u64;
    if not_modified(&headers, &tag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, header_value(&tag))]).into_response());
    }
    let range = match requested_range(&headers, size, &tag) {
        Ok(range) => range,
        Err(()) => {
            let mut response = AppError::RangeNotSatisfiable(size).into_response();
            response.headers_mut().insert(header::CONTENT_RANGE, header_value(&format!("bytes */{size}")));
            return Ok(response);
        }
    };
    let body = files::download(&state, &auth, file_id, range.clone()).await?;
    let (status, length) = match &range {
        Some(r) => (StatusCode::PARTIAL_CONTENT, r.end - r.start),
        None => (StatusCode::OK, size),
    };
    // A download counts once its last byte is handed over (hyper stops polling a body
    // at its Content-Length, so the count is stored before the final chunk goes out).
    let record = range.as_ref().is_none_or(|r| r.end == size).then(|| (state.clone(), auth.clone()));
    let stream = futures_util::stream::unfold(
        (body.stream, length, record),
        move |(mut inner, left, mut record)| async move {
            let chunk = match inner.next().await? {
                Ok(chunk) => chunk,
                Err(err) => return Some((Err(std::io::Error::other(err)), (inner, left, None))),
            };
            let left = left.saturating_sub(chunk.len() as u64);
            if left == 0
                && let Some((state, auth)) = record.take()
                && let Err(err) = files::record_download(&state, &auth, file_id).await
            {
                tracing::warn!(error = %err, file_id, "could not log a download");
            }
            Some((Ok(chunk), (inner, left, record)))
        },
    );
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, header_value(&row.mime_type));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    h.insert(header::CONTENT_DISPOSITION, header_value(&content_disposition(&row.name)));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(FILE_CSP));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::ETAG, header_value(&tag));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    if let Some(r) = &range {
        h.insert(header::CONTENT_RANGE, header_value(&format!("bytes {}-{}/{size}", r.start, r.end - 1)));
    }
    Ok(response)
}

/// # `GET /api/chat/files/{id}/thumbnail`
///
/// The thumbnail of an image (≤ 320 px on the long side, JPEG or WebP). 404 when the
/// file has none; 410 once it expired.
#[utoipa::path(get, path = "/api/chat/files/{id}/thumbnail", tag = "files", params(("id" = i64, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The thumbnail", content_type = "image/jpeg"),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`not_participant`", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 410, description = "`file_expired`", body = ErrorBody),
    ))]
async fn thumbnail(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(file_id): Path<FileId>,
) -> AppResult<Response> {
    let (bytes, _) = files::thumbnail(&state, &auth, file_id).await?;
    let mime = infer::get(&bytes).map_or("image/jpeg", |kind| kind.mime_type());
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
            (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(FILE_CSP)),
            (header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=86400")),
        ],
        bytes,
    )
        .into_response())
}

/// # `GET /api/chat/files/{id}/downloads`
///
/// Who downloaded the file and when, newest first: the uploader and the room's
/// moderators only.
#[utoipa::path(get, path = "/api/chat/files/{id}/downloads", tag = "files", params(("id" = i64, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = DownloadLog),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn downloads(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(file_id): Path<FileId>,
) -> AppResult<axum::Json<DownloadLog>> {
    Ok(axum::Json(files::downloads(&state, &auth, file_id).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn ranges_are_served_ignored_or_refused() {
        let tag = "\"abc\"";
        let range = |value: &str| requested_range(&with(header::RANGE, value), 100, tag);
        assert_eq!(requested_range(&HeaderMap::new(), 100, tag), Ok(None));
        assert_eq!(range("bytes=10-19"), Ok(Some(10..20)));
        assert_eq!(range("bytes=90-"), Ok(Some(90..100)));
        assert_eq!(range("bytes=-5"), Ok(Some(95..100)));
        assert_eq!(range("bytes=0-1,5-6"), Ok(None));
        assert_eq!(range("bytes=0-1,0-1,0-1"), Ok(None), "overlapping ranges: the whole file");
        assert_eq!(range("lines=1-2"), Ok(None));
        assert_eq!(range("bytes=200-300"), Err(()));
        let mut headers = with(header::RANGE, "bytes=0-1");
        headers.insert(header::IF_RANGE, HeaderValue::from_static("\"other\""));
        assert_eq!(requested_range(&headers, 100, tag), Ok(None), "If-Range of other content");
        headers.insert(header::IF_RANGE, HeaderValue::from_static("\"abc\""));
        assert_eq!(requested_range(&headers, 100, tag), Ok(Some(0..2)));
    }

    #[test]
    fn etags_match_exactly_weakly_or_by_star() {
        let tag = "\"abc\"";
        assert!(not_modified(&with(header::IF_NONE_MATCH, "\"abc\""), tag));
        assert!(not_modified(&with(header::IF_NONE_MATCH, "\"x\", W/\"abc\""), tag));
        assert!(not_modified(&with(header::IF_NONE_MATCH, "*"), tag));
        assert!(!not_modified(&with(header::IF_NONE_MATCH, "\"abd\""), tag));
    }
}
