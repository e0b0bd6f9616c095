-- Uploaded files: one row per stored blob, recorded in the same transaction as the
-- message that carries it. The blob's key is chosen by the server; `name` is only the
-- uploader's file name, for display.
CREATE TABLE file (
    file_id          INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id          INTEGER NOT NULL REFERENCES room (room_id) ON DELETE CASCADE,
    message_id       INTEGER NOT NULL REFERENCES message (message_id) ON DELETE CASCADE,
    uploader_id      INTEGER REFERENCES app_user (user_id) ON DELETE SET NULL,
    storage_key      TEXT    NOT NULL UNIQUE,
    thumbnail_key    TEXT,
    name             TEXT    NOT NULL,
    mime_type        TEXT    NOT NULL,
    category         TEXT    NOT NULL CHECK (category IN ('image', 'file', 'audio', 'video')),
    size_bytes       INTEGER NOT NULL,
    sha256           TEXT    NOT NULL,
    width            INTEGER,
    height           INTEGER,
    thumbnail_width  INTEGER,
    thumbnail_height INTEGER,
    download_count   INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    -- When downloads start answering 410; a deleted message's files expire at once.
    expires_at       INTEGER,
    -- When the purge task deleted the blob (and thumbnail).
    purged_at        INTEGER
);
CREATE INDEX file_by_message ON file (message_id);
CREATE INDEX file_to_purge ON file (expires_at) WHERE purged_at IS NULL AND expires_at IS NOT NULL;
CREATE INDEX file_by_thumbnail ON file (thumbnail_key) WHERE thumbnail_key IS NOT NULL;

-- Who downloaded a file, and when (shown to the uploader and the room's moderators).
CREATE TABLE file_download (
    file_id       INTEGER NOT NULL REFERENCES file (file_id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES app_user (user_id) ON DELETE CASCADE,
    downloaded_at INTEGER NOT NULL
);
CREATE INDEX file_download_by_file ON file_download (file_id, downloaded_at);
