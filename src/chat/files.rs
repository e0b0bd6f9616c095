//! File sharing (SPEC §6): who may upload what where, how an upload is taken in, who
//! may download, and when files expire.
//!
//! An upload passes three gates before anything is stored: the room (participant, not
//! muted, files allowed), the file's name and extension (voice allowed for audio), and
//! its first bytes (they must be what the extension says). Only then are bytes written,
//! as they arrive, to a blob under a server-chosen key while being hashed and counted;
//! the limit is enforced on the way. The file record and its message are written in one
//! transaction afterwards; any failure before that deletes the blob, and a sweep at
//! start deletes blobs a crash left without a record.

use std::ops::Range;

use axum::body::Bytes;
use sha2::{Digest, Sha256};

use super::access::RoomAccess;
use super::publish::ChatEvent;
use crate::auth::AuthUser;
use crate::clock::Millis;
use crate::domain::file::{self, DownloadLog, FileCategory, FileId, NewFile, UploadFields};
use crate::domain::message::{Message, NewMessage};
use crate::domain::room::RoomId;
use crate::error::{AppError, AppResult};
use crate::files::blobs::{BlobStore, BlobWriter};
use crate::files::kinds::{self, Kind, SNIFF_BYTES, TextCheck};
use crate::files::thumbnail::{self, DecodeBudget};
use crate::state::AppState;
use crate::store::FileRow;

/// Files whose blobs the purge task deletes per round.
const PURGE_BATCH: i64 = 100;
/// Largest allocation an image decoder may make for a thumbnail.
const DECODE_MAX_ALLOC: u64 = 512 << 20;

/// A caller cleared to upload into a room (the room gate).
pub struct UploadTicket {
    access: RoomAccess,
    max_bytes: u64,
}

/// 413 for an upload over `max_bytes`.
fn too_large(max_bytes: u64) -> AppError {
    AppError::PayloadTooLarge(format!(
        "files are limited to {max_bytes} bytes ({:.1} MiB)",
        max_bytes as f64 / 1_048_576.0
    ))
}

/// The room gate: a participant who is not muted, in a room that allows files. Runs
/// before a byte of the body is read; `declared_bytes` (the request's Content-Length)
/// is refused at once when it cannot fit.
pub async fn authorize_upload(
    state: &AppState,
    caller: &AuthUser,
    room_id: RoomId,
    declared_bytes: Option<u64>,
) -> AppResult<UploadTicket> {
    let access = RoomAccess::load(state, caller, room_id).await?;
    let membership = access.require_participant()?;
    super::messages::require_not_muted(membership, state.clock.now_ms())?;
    if !access.room.settings.allow_files {
        return Err(AppError::forbidden_because("files_not_allowed", "this room does not take files"));
    }
    let max_bytes = state.limits.max_upload_bytes;
    // The multipart framing (boundaries, part headers, small fields) adds a little.
    if declared_bytes.is_some_and(|len| len > max_bytes.saturating_add(MULTIPART_SLACK)) {
        return Err(too_large(max_bytes));
    }
    Ok(UploadTicket { access, max_bytes })
}

/// Bytes of a multipart body besides the file itself that a declared length may hold.
pub const MULTIPART_SLACK: u64 = 64 * 1024;

impl UploadTicket {
    /// The name gate, for the `file` part: a valid name with an allowed extension, and
    /// voice allowed in the room for audio.
    pub async fn accept(&self, state: &AppState, raw_name: Option<&str>) -> AppResult<IncomingFile> {
        let name = file::validate_file_name(raw_name.unwrap_or_default())?;
        let kind = kinds::kind_of(&file::extension(&name))?;
        if kind.category == FileCategory::Audio && !self.access.room.settings.allow_voice {
            return Err(AppError::forbidden_because(
                "voice_not_allowed",
                "this room does not take audio files",
            ));
        }
        Ok(IncomingFile {
            blobs: state.blobs.clone(),
            name,
            kind,
            key: BlobStore::new_key("files"),
            writer: None,
            hasher: Sha256::new(),
            size: 0,
            prefix: Vec::new(),
            text: kind.is_text().then(TextCheck::default),
            max_bytes: self.max_bytes,
        })
    }
}

/// A file being received: counted, hashed, sniffed, and written once its first bytes
/// passed the content gate.
pub struct IncomingFile {
    blobs: BlobStore,
    name: String,
    kind: &'static Kind,
    key: String,
    writer: Option<BlobWriter>,
    hasher: Sha256,
    size: u64,
    /// The first bytes, held until they are enough to judge the content.
    prefix: Vec<u8>,
    text: Option<TextCheck>,
    max_bytes: u64,
}

/// A file fully received and stored under its key.
pub struct ReceivedFile {
    name: String,
    kind: &'static Kind,
    key: String,
    size: u64,
    sha256: String,
}

impl IncomingFile {
    /// Takes the next chunk. On an error the caller calls [`IncomingFile::abort`].
    pub async fn write(&mut self, chunk: Bytes) -> AppResult<()> {
        self.size += chunk.len() as u64;
        if self.size > self.max_bytes {
            return Err(too_large(self.max_bytes));
        }
        self.hasher.update(&chunk);
        if let Some(text) = &mut self.text {
            text.feed(&chunk);
        }
        match &mut self.writer {
            Some(writer) => writer.write(chunk).await.map_err(AppError::internal),
            None => {
                self.prefix.extend_from_slice(&chunk);
                if self.prefix.len() >= SNIFF_BYTES { self.start_writing().await } else { Ok(()) }
            }
        }
    }

    /// The content gate on the held prefix; then the prefix goes to a new blob.
    async fn start_writing(&mut self) -> AppResult<()> {
        kinds::check_content(self.kind, &self.prefix)?;
        let mut writer = self.blobs.writer(self.key.clone()).await.map_err(AppError::internal)?;
        let prefix = Bytes::from(std::mem::take(&mut self.prefix));
        writer.write(prefix).await.map_err(AppError::internal)?;
        self.writer = Some(writer);
        Ok(())
    }

    /// The whole file arrived: last checks, then the blob is made visible.
    pub async fn finish(mut self) -> AppResult<ReceivedFile> {
        let result = async {
            if self.writer.is_none() {
                self.start_writing().await?;
            }
            if let Some(text) = self.text.take() {
                text.finish()?;
            }
            Ok(())
        }
        .await;
        if let Err(err) = result {
            self.abort().await;
            return Err(err);
        }
        let Some(writer) = self.writer.take() else {
            return Err(AppError::internal("upload finished without a writer"));
        };
        writer.finish().await.map_err(AppError::internal)?;
        let sha256 = hex(&self.hasher.finalize());
        Ok(ReceivedFile { name: self.name, kind: self.kind, key: self.key, size: self.size, sha256 })
    }

    /// Throws away whatever was received.
    pub async fn abort(mut self) {
        if let Some(writer) = self.writer.take() {
            writer.abort().await;
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Records a received file and its message in one transaction and broadcasts it like
/// any message. Images get their thumbnail first (an image too large in pixels is
/// refused here). A `client_id` already used answers with the earlier message, and
/// the new blob is deleted. On any error, nothing of the upload remains.
pub async fn finish_upload(
    state: &AppState,
    caller: &AuthUser,
    ticket: UploadTicket,
    received: ReceivedFile,
    fields: UploadFields,
) -> AppResult<(Message, bool)> {
    let mut thumbnail_key = None;
    let result = record_upload(state, caller, &ticket, &received, fields, &mut thumbnail_key).await;
    let keep = matches!(result, Ok((_, true)));
    if !keep {
        discard(&state.blobs, &received.key, thumbnail_key.as_deref()).await;
    }
    result
}

/// Deletes a received file that will not be recorded (the rest of its form was refused).
pub async fn discard_received(state: &AppState, received: ReceivedFile) {
    discard(&state.blobs, &received.key, None).await;
}

async fn discard(blobs: &BlobStore, key: &str, thumbnail_key: Option<&str>) {
    for key in std::iter::once(key).chain(thumbnail_key) {
        if let Err(err) = blobs.delete(key).await {
            tracing::warn!(error = %err, key, "could not delete the blob of a refused upload");
        }
    }
}

async fn record_upload(
    state: &AppState,
    caller: &AuthUser,
    ticket: &UploadTicket,
    received: &ReceivedFile,
    fields: UploadFields,
    thumbnail_key: &mut Option<String>,
) -> AppResult<(Message, bool)> {
    let access = &ticket.access;
    let options = fields.validate(state.limits.max_file_expiry_seconds)?;
    let caption = super::moderation::filter_content(state, &access.room.settings, options.caption)?;
    let now = state.clock.now_ms();
    // Muted or restricted meanwhile? The rules are checked again as for any post.
    if let Some(membership) = &access.membership {
        super::messages::require_not_muted(membership, now)?;
    }
    super::messages::check_posting(state, caller, access, now).await?;
    let mut dimensions = None;
    let mut thumbnail_dimensions = None;
    if let Some(format) = thumbnail::format_of(received.kind.mime) {
        let made = make_thumbnail(state, &received.key, format).await?;
        dimensions = Some((i64::from(made.source_width), i64::from(made.source_height)));
        thumbnail_dimensions = Some((i64::from(made.width), i64::from(made.height)));
        let key = BlobStore::new_key("thumbs");
        *thumbnail_key = Some(key.clone());
        state.blobs.put(&key, made.bytes).await.map_err(AppError::internal)?;
    }
    let new = NewMessage {
        message_type: received.kind.category.message_type(),
        content: caption,
        reply_to: None,
        client_id: options.client_id,
        poll: None,
        attachment: Some(NewFile {
            storage_key: received.key.clone(),
            thumbnail_key: thumbnail_key.clone(),
            name: received.name.clone(),
            mime: received.kind.mime,
            category: received.kind.category,
            size: received.size as i64,
            sha256: received.sha256.clone(),
            dimensions,
            thumbnail_dimensions,
            expires_at: options.expires_in_seconds.map(|secs| now + secs as i64 * 1000),
        }),
    };
    super::messages::store_and_publish(state, caller, access, new, None).await
}

/// Reads the stored image back and thumbnails it off the async runtime, a bounded
/// number at a time.
async fn make_thumbnail(
    state: &AppState,
    key: &str,
    format: image::ImageFormat,
) -> AppResult<thumbnail::Thumbnail> {
    let _permit = state.thumbnails.acquire().await.map_err(AppError::internal)?;
    let bytes = state.blobs.read(key).await.map_err(AppError::internal)?;
    let budget = DecodeBudget { max_pixels: state.limits.max_image_pixels, max_alloc: DECODE_MAX_ALLOC };
    tokio::task::spawn_blocking(move || thumbnail::make_thumbnail(&bytes, format, budget)).await?
}

/// A file the caller may read: the room's participants (and admins, logged). Someone
/// who may not know the room gets 404, like for the room itself.
async fn readable_file(
    state: &AppState,
    caller: &AuthUser,
    file_id: FileId,
) -> AppResult<(FileRow, RoomAccess)> {
    let row = state.store.file(file_id).await?.ok_or(AppError::NotFound("file"))?;
    let access = RoomAccess::load(state, caller, row.room_id).await.map_err(|err| match err {
        AppError::NotFound(_) => AppError::NotFound("file"),
        other => other,
    })?;
    access.require_reader(state, caller).await?;
    Ok((row, access))
}

/// 410 for a file past its expiry (or whose message was deleted).
fn require_current(row: &FileRow, now: Millis) -> AppResult<()> {
    if row.is_expired(now) {
        return Err(AppError::Gone(
            "file_expired",
            "this file has expired and is no longer available".into(),
        ));
    }
    Ok(())
}

/// What a download serves.
pub struct FileBody {
    pub row: FileRow,
    pub stream: futures_util::stream::BoxStream<'static, Result<Bytes, object_store::Error>>,
}

/// The file (or the part of it in `range`) for `caller`. 410 once expired.
pub async fn download(
    state: &AppState,
    caller: &AuthUser,
    file_id: FileId,
    range: Option<Range<u64>>,
) -> AppResult<FileBody> {
    let (row, _) = readable_file(state, caller, file_id).await?;
    require_current(&row, state.clock.now_ms())?;
    let stream = state.blobs.stream(&row.storage_key, range).await.map_err(AppError::internal)?;
    Ok(FileBody { row, stream })
}

/// The file's metadata, for conditional requests answered without a body.
pub async fn file_for(state: &AppState, caller: &AuthUser, file_id: FileId) -> AppResult<FileRow> {
    let (row, _) = readable_file(state, caller, file_id).await?;
    require_current(&row, state.clock.now_ms())?;
    Ok(row)
}

/// Counts a completed download and logs who made it.
pub async fn record_download(state: &AppState, caller: &AuthUser, file_id: FileId) -> AppResult<()> {
    Ok(state.store.record_download(file_id, caller.user.id, state.clock.now_ms()).await?)
}

/// The thumbnail of an image file: (bytes, MIME type). 404 when the file has none.
pub async fn thumbnail(state: &AppState, caller: &AuthUser, file_id: FileId) -> AppResult<(Bytes, FileRow)> {
    let (row, _) = readable_file(state, caller, file_id).await?;
    require_current(&row, state.clock.now_ms())?;
    let key = row.thumbnail_key.as_deref().ok_or(AppError::NotFound("thumbnail"))?;
    let bytes = state.blobs.read(key).await.map_err(AppError::internal)?;
    Ok((bytes, row))
}

/// Who downloaded a file: shown to its uploader and the room's moderators.
pub async fn downloads(state: &AppState, caller: &AuthUser, file_id: FileId) -> AppResult<DownloadLog> {
    let (row, access) = readable_file(state, caller, file_id).await?;
    let uploader = row.uploader_id == Some(caller.user.id);
    if !uploader && !access.moderates() {
        return Err(AppError::forbidden(
            "only the uploader and the room's moderators see who downloaded a file",
        ));
    }
    Ok(DownloadLog {
        file_id,
        download_count: row.download_count,
        downloads: state.store.downloads(file_id).await?,
    })
}

/// Deletes the blobs of files past their expiry (or of deleted messages) and marks
/// them purged; the rooms see the attachment as expired. Driven by the database, so a
/// restart picks up where the last run stopped. Returns how many files were purged.
pub async fn purge_expired(state: &AppState) -> AppResult<usize> {
    let now = state.clock.now_ms();
    let due = state.store.files_to_purge(now, PURGE_BATCH).await?;
    let mut purged = 0;
    for row in due {
        let mut gone = state.blobs.delete(&row.storage_key).await.is_ok();
        if let Some(thumb) = &row.thumbnail_key {
            gone &= state.blobs.delete(thumb).await.is_ok();
        }
        if !gone {
            tracing::warn!(file_id = row.file_id, "could not delete an expired file's blobs; retrying later");
            continue;
        }
        // Instances sharing the database may purge the same file at once; deleting a
        // blob twice is harmless, and only the one that marks it tells the room.
        if !state.store.mark_purged(row.file_id, now).await? {
            continue;
        }
        purged += 1;
        if let Ok(Some(message)) = state.store.message(row.message_id, None, now).await
            && message.deleted_at.is_none()
        {
            state.publisher.publish(ChatEvent::MessageEdited(message)).await;
        }
    }
    Ok(purged)
}

/// At start: deletes blobs no file record names (an upload cut short by a crash before
/// its transaction) and half-written parts, older than the orphan age.
pub async fn sweep_orphans(state: &AppState) -> AppResult<usize> {
    let age_ms = state.limits.orphan_blob_age_seconds as i64 * 1000;
    let wall_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let before = wall_now - age_ms;
    let mut removed = state.blobs.remove_stale_parts(before);
    for prefix in ["files", "thumbs"] {
        let keys = state.blobs.keys_older_than(prefix, before).await.map_err(AppError::internal)?;
        let known: std::collections::HashSet<String> =
            state.store.known_blob_keys(&keys).await?.into_iter().collect();
        for key in keys.iter().filter(|k| !known.contains(*k)) {
            if state.blobs.delete(key).await.is_ok() {
                removed += 1;
            }
        }
    }
    if removed > 0 {
        tracing::info!(removed, "deleted blobs that no file record names");
    }
    Ok(removed)
}
