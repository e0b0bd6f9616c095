-- Rooms, participants, messages and everything hanging off a message.

CREATE TABLE room (
    room_id            INTEGER PRIMARY KEY AUTOINCREMENT,
    room_type          TEXT    NOT NULL CHECK (room_type IN ('event', 'private', 'group', 'support', 'general')),
    name               TEXT    NOT NULL,
    description        TEXT    NOT NULL DEFAULT '',
    is_public          BOOLEAN NOT NULL,
    allow_files        BOOLEAN NOT NULL,
    allow_voice        BOOLEAN NOT NULL,
    moderation_enabled BOOLEAN NOT NULL,
    event_id           INTEGER REFERENCES event (event_id) ON DELETE CASCADE,
    -- Direct messages: 'low_user_id:high_user_id', so each pair has one room.
    direct_key         TEXT UNIQUE,
    created_by         INTEGER REFERENCES app_user (user_id),
    created_at         INTEGER NOT NULL,
    -- Highest message seq, and a counter bumped by every change to a message of the room
    -- (create, edit, delete, reaction, vote): reconnecting clients catch up from it.
    last_seq           INTEGER NOT NULL DEFAULT 0,
    last_change        INTEGER NOT NULL DEFAULT 0,
    -- Orders the room list: the latest message's time, or creation.
    last_activity_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX room_one_event_room ON room (event_id) WHERE room_type = 'event';
CREATE INDEX room_by_event ON room (event_id);
CREATE INDEX room_public ON room (is_public, room_id);

CREATE TABLE participant (
    room_id              INTEGER NOT NULL REFERENCES room (room_id) ON DELETE CASCADE,
    user_id              INTEGER NOT NULL REFERENCES app_user (user_id) ON DELETE CASCADE,
    role                 TEXT    NOT NULL CHECK (role IN ('owner', 'moderator', 'member')),
    joined_at            INTEGER NOT NULL,
    muted_until          INTEGER,
    last_read_seq        INTEGER NOT NULL DEFAULT 0,
    last_read_message_id INTEGER,
    notifications        TEXT    NOT NULL DEFAULT 'all' CHECK (notifications IN ('all', 'mentions', 'none')),
    sound                BOOLEAN NOT NULL DEFAULT TRUE,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX participant_by_user ON participant (user_id);

CREATE TABLE message (
    message_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id        INTEGER NOT NULL REFERENCES room (room_id) ON DELETE CASCADE,
    seq            INTEGER NOT NULL,
    sender_id      INTEGER REFERENCES app_user (user_id),
    message_type   TEXT    NOT NULL,
    -- NULL once deleted; the text stays in message_version for the audit trail.
    content        TEXT,
    reply_to       INTEGER REFERENCES message (message_id),
    client_id      TEXT,
    created_at     INTEGER NOT NULL,
    edited_at      INTEGER,
    deleted_at     INTEGER,
    deleted_by     INTEGER REFERENCES app_user (user_id),
    -- room.last_change when created, and when last changed.
    created_change INTEGER NOT NULL,
    last_change    INTEGER NOT NULL,
    UNIQUE (room_id, seq)
);
CREATE UNIQUE INDEX message_client_id ON message (room_id, sender_id, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX message_by_change ON message (room_id, last_change);
CREATE INDEX message_replies ON message (reply_to) WHERE reply_to IS NOT NULL;

-- Every earlier text of an edited or deleted message, with who replaced it and when.
CREATE TABLE message_version (
    message_id  INTEGER NOT NULL REFERENCES message (message_id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    content     TEXT    NOT NULL,
    replaced_at INTEGER NOT NULL,
    replaced_by INTEGER NOT NULL REFERENCES app_user (user_id),
    reason      TEXT    NOT NULL CHECK (reason IN ('edit', 'delete')),
    PRIMARY KEY (message_id, version)
);

CREATE TABLE message_mention (
    message_id INTEGER NOT NULL REFERENCES message (message_id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES app_user (user_id) ON DELETE CASCADE,
    PRIMARY KEY (message_id, user_id)
);
CREATE INDEX message_mention_by_user ON message_mention (user_id, message_id);

CREATE TABLE reaction (
    message_id INTEGER NOT NULL REFERENCES message (message_id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES app_user (user_id) ON DELETE CASCADE,
    emoji      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (message_id, user_id, emoji)
);

CREATE TABLE poll (
    message_id INTEGER PRIMARY KEY REFERENCES message (message_id) ON DELETE CASCADE,
    question   TEXT    NOT NULL,
    multiple   BOOLEAN NOT NULL,
    closes_at  INTEGER
);

CREATE TABLE poll_option (
    message_id   INTEGER NOT NULL REFERENCES poll (message_id) ON DELETE CASCADE,
    option_index INTEGER NOT NULL,
    text         TEXT    NOT NULL,
    PRIMARY KEY (message_id, option_index)
);

CREATE TABLE poll_vote (
    message_id   INTEGER NOT NULL REFERENCES poll (message_id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL REFERENCES app_user (user_id) ON DELETE CASCADE,
    option_index INTEGER NOT NULL,
    voted_at     INTEGER NOT NULL,
    PRIMARY KEY (message_id, user_id, option_index)
);

CREATE TABLE notification (
    notification_id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         INTEGER NOT NULL REFERENCES app_user (user_id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL,
    room_id         INTEGER NOT NULL REFERENCES room (room_id) ON DELETE CASCADE,
    message_id      INTEGER REFERENCES message (message_id) ON DELETE CASCADE,
    actor_id        INTEGER REFERENCES app_user (user_id),
    created_at      INTEGER NOT NULL,
    read_at         INTEGER
);
CREATE INDEX notification_by_user ON notification (user_id, notification_id);
