//! `file` and `file_download`: uploads, their download log and their expiry.
//!
//! A file row is written in the transaction that writes its message
//! (`insert_message`); everything here reads or updates rows that exist.

use sqlx::FromRow;

use super::{Store, in_lists, in_transaction, placeholders, with_pool};
use crate::clock::{Millis, to_rfc3339};
use crate::domain::file::{Attachment, DownloadEntry, FileCategory, FileId};
use crate::domain::user::{Role, User};

/// Inside an open transaction `$tx`: records `$file` as the attachment of message
/// `$message_id`. A macro so that one body serves both backends' transaction types.
macro_rules! insert_file_in {
    ($tx:expr, $message_id:expr, $room_id:expr, $uploader:expr, $file:expr, $now:expr) => {{
        let file: &$crate::domain::file::NewFile = $file;
        sqlx::query(
            "INSERT INTO file (room_id, message_id, uploader_id, storage_key, thumbnail_key, name, mime_type, \
             category, size_bytes, sha256, width, height, thumbnail_width, thumbnail_height, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind($room_id)
        .bind($message_id)
        .bind($uploader)
        .bind(&file.storage_key)
        .bind(&file.thumbnail_key)
        .bind(&file.name)
        .bind(file.mime)
        .bind(file.category.as_str())
        .bind(file.size)
        .bind(&file.sha256)
        .bind(file.dimensions.map(|d| d.0))
        .bind(file.dimensions.map(|d| d.1))
        .bind(file.thumbnail_dimensions.map(|d| d.0))
        .bind(file.thumbnail_dimensions.map(|d| d.1))
        .bind($now)
        .bind(file.expires_at)
        .execute(&mut *$tx)
        .await
    }};
}
pub(crate) use insert_file_in;

/// Inside an open transaction `$tx`: a deleted message's files expire now (the purge
/// task deletes their blobs).
macro_rules! expire_files_of_message_in {
    ($tx:expr, $message_id:expr, $now:expr) => {
        sqlx::query(
            "UPDATE file SET expires_at = $2 WHERE message_id = $1 AND purged_at IS NULL \
             AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind($message_id)
        .bind($now)
        .execute(&mut *$tx)
        .await
    };
}
pub(crate) use expire_files_of_message_in;

/// A file row as stored.
#[derive(Debug, Clone, FromRow)]
pub struct FileRow {
    pub file_id: i64,
    pub room_id: i64,
    pub message_id: i64,
    pub uploader_id: Option<i64>,
    pub storage_key: String,
    pub thumbnail_key: Option<String>,
    pub name: String,
    pub mime_type: String,
    pub category: FileCategory,
    pub size_bytes: i64,
    pub sha256: String,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub thumbnail_width: Option<i64>,
    pub thumbnail_height: Option<i64>,
    pub download_count: i64,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub purged_at: Option<i64>,
}

impl FileRow {
    /// Whether downloads answer 410 at `now`.
    pub fn is_expired(&self, now: Millis) -> bool {
        self.purged_at.is_some() || self.expires_at.is_some_and(|at| at <= now)
    }

    pub fn attachment(&self, now: Millis) -> Attachment {
        let expired = self.is_expired(now);
        let has_thumbnail = self.thumbnail_key.is_some() && !expired;
        Attachment {
            id: self.file_id,
            name: self.name.clone(),
            mime: self.mime_type.clone(),
            size: self.size_bytes,
            category: self.category,
            sha256: self.sha256.clone(),
            width: self.width,
            height: self.height,
            has_thumbnail,
            thumbnail_width: self.thumbnail_width,
            thumbnail_height: self.thumbnail_height,
            expires_at: self.expires_at.map(to_rfc3339),
            expired,
            download_count: self.download_count,
            download_url: format!("/api/chat/files/{}/download", self.file_id),
            thumbnail_url: has_thumbnail.then(|| format!("/api/chat/files/{}/thumbnail", self.file_id)),
        }
    }
}

macro_rules! select_file {
    () => {
        "SELECT f.file_id, f.room_id, f.message_id, f.uploader_id, f.storage_key, f.thumbnail_key, f.name, \
         f.mime_type, f.category, f.size_bytes, f.sha256, f.width, f.height, f.thumbnail_width, \
         f.thumbnail_height, f.download_count, f.created_at, f.expires_at, f.purged_at FROM file f"
    };
}
pub(super) use select_file;

#[derive(Debug, FromRow)]
struct DownloadRow {
    user_id: i64,
    username: String,
    display_name: String,
    role: Role,
    downloaded_at: i64,
}

/// Downloads shown per file.
pub const DOWNLOAD_LOG_LIMIT: i64 = 500;

impl Store {
    pub async fn file(&self, file_id: FileId) -> Result<Option<FileRow>, sqlx::Error> {
        const SQL: &str = concat!(select_file!(), " WHERE f.file_id = $1");
        with_pool!(self, reader, |pool| sqlx::query_as(SQL).bind(file_id).fetch_optional(pool).await)
    }

    /// Counts a completed download and logs who made it.
    pub async fn record_download(
        &self,
        file_id: FileId,
        user_id: i64,
        now: Millis,
    ) -> Result<(), sqlx::Error> {
        const COUNT: &str = "UPDATE file SET download_count = download_count + 1 WHERE file_id = $1";
        const LOG: &str = "INSERT INTO file_download (file_id, user_id, downloaded_at) VALUES ($1, $2, $3)";
        in_transaction!(self, |tx| {
            sqlx::query(COUNT).bind(file_id).execute(&mut *tx).await?;
            sqlx::query(LOG).bind(file_id).bind(user_id).bind(now).execute(&mut *tx).await?;
            tx.commit().await
        })
    }

    /// The latest downloads of a file, newest first.
    pub async fn downloads(&self, file_id: FileId) -> Result<Vec<DownloadEntry>, sqlx::Error> {
        const SQL: &str = "SELECT d.user_id, u.username, u.display_name, u.role, d.downloaded_at \
            FROM file_download d JOIN app_user u ON u.user_id = d.user_id WHERE d.file_id = $1 \
            ORDER BY d.downloaded_at DESC, d.user_id LIMIT +$2";
        let rows: Vec<DownloadRow> = with_pool!(self, reader, |pool| sqlx::query_as(SQL)
            .bind(file_id)
            .bind(DOWNLOAD_LOG_LIMIT)
            .fetch_all(pool)
            .await)?;
        Ok(rows
            .into_iter()
            .map(|r| DownloadEntry {
                user: User {
                    id: r.user_id,
                    username: r.username,
                    display_name: r.display_name,
                    role: r.role,
                },
                downloaded_at: to_rfc3339(r.downloaded_at),
            })
            .collect())
    }

    /// Files whose blobs are due for deletion at `now`, oldest expiry first.
    pub async fn files_to_purge(&self, now: Millis, limit: i64) -> Result<Vec<FileRow>, sqlx::Error> {
        const SQL: &str = concat!(
            select_file!(),
            " WHERE f.purged_at IS NULL AND f.expires_at IS NOT NULL AND f.expires_at <= $1 \
             ORDER BY f.expires_at LIMIT +$2"
        );
        with_pool!(self, reader, |pool| sqlx::query_as(SQL).bind(now).bind(limit).fetch_all(pool).await)
    }

    /// Records that a file's blobs are gone; whether this call did (another instance
    /// purging the same file at once finds it done).
    pub async fn mark_purged(&self, file_id: FileId, now: Millis) -> Result<bool, sqlx::Error> {
        const SQL: &str = "UPDATE file SET purged_at = $2 WHERE file_id = $1 AND purged_at IS NULL";
        with_pool!(self, writer, |pool| sqlx::query(SQL)
            .bind(file_id)
            .bind(now)
            .execute(pool)
            .await
            .map(|done| done.rows_affected() == 1))
    }

    /// Which of `keys` (blob or thumbnail keys) a file row names.
    pub async fn known_blob_keys(&self, keys: &[String]) -> Result<Vec<String>, sqlx::Error> {
        let mut known = Vec::new();
        for list in in_lists(keys) {
            let n = list.len();
            let sql = format!(
                "SELECT storage_key FROM file WHERE storage_key IN ({}) \
                 UNION SELECT thumbnail_key FROM file WHERE thumbnail_key IN ({})",
                placeholders(1, n),
                placeholders(n + 1, n)
            );
            let rows: Vec<(String,)> = with_pool!(self, reader, |pool| {
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
                for key in list.iter().chain(list.iter()) {
                    query = query.bind(key);
                }
                query.fetch_all(pool).await
            })?;
            known.extend(rows.into_iter().map(|(key,)| key));
        }
        Ok(known)
    }
}
