-- What event chat needs: session Q&A, pinned messages, announcements counted apart.

ALTER TABLE room ADD COLUMN qa_enabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE room ADD COLUMN qa_moderation BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE question (
    question_id INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id     INTEGER NOT NULL REFERENCES room (room_id) ON DELETE CASCADE,
    author_id   INTEGER REFERENCES app_user (user_id) ON DELETE SET NULL,
    content     TEXT    NOT NULL,
    anonymous   BOOLEAN NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'hidden')),
    -- Kept with the question so that ordering by votes reads one row per question.
    vote_count  INTEGER NOT NULL DEFAULT 0,
    answered_at INTEGER,
    -- The room's one "now answering".
    pinned_at   INTEGER,
    created_at  INTEGER NOT NULL
);
CREATE INDEX question_by_votes ON question (room_id, status, vote_count, question_id);
CREATE INDEX question_by_time ON question (room_id, status, question_id);

CREATE TABLE question_vote (
    question_id INTEGER NOT NULL REFERENCES question (question_id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES app_user (user_id) ON DELETE CASCADE,
    voted_at    INTEGER NOT NULL,
    PRIMARY KEY (question_id, user_id)
);

CREATE TABLE message_pin (
    message_id INTEGER PRIMARY KEY REFERENCES message (message_id) ON DELETE CASCADE,
    room_id    INTEGER NOT NULL REFERENCES room (room_id) ON DELETE CASCADE,
    pinned_by  INTEGER REFERENCES app_user (user_id) ON DELETE SET NULL,
    pinned_at  INTEGER NOT NULL
);
CREATE INDEX message_pin_by_room ON message_pin (room_id, pinned_at);

-- Unread announcements are counted over this index (a room has few of them).
CREATE INDEX message_announcements ON message (room_id, seq) WHERE message_type = 'event_update';
