-- What event chat needs: session Q&A, pinned messages, announcements counted apart.

ALTER TABLE room ADD COLUMN qa_enabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE room ADD COLUMN qa_moderation BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE question (
    question_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    room_id     BIGINT NOT NULL REFERENCES room (room_id) ON DELETE CASCADE,
    author_id   BIGINT REFERENCES app_user (user_id) ON DELETE SET NULL,
    content     TEXT    NOT NULL,
    anonymous   BOOLEAN NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'hidden')),
    -- Kept with the question so that ordering by votes reads one row per question.
    vote_count  BIGINT NOT NULL DEFAULT 0,
    answered_at BIGINT,
    -- The room's one "now answering".
    pinned_at   BIGINT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX question_by_votes ON question (room_id, status, vote_count, question_id);
CREATE INDEX question_by_time ON question (room_id, status, question_id);

CREATE TABLE question_vote (
    question_id BIGINT NOT NULL REFERENCES question (question_id) ON DELETE CASCADE,
    user_id     BIGINT NOT NULL REFERENCES app_user (user_id) ON DELETE CASCADE,
    voted_at    BIGINT NOT NULL,
    PRIMARY KEY (question_id, user_id)
);

CREATE TABLE message_pin (
    message_id BIGINT PRIMARY KEY REFERENCES message (message_id) ON DELETE CASCADE,
    room_id    BIGINT NOT NULL REFERENCES room (room_id) ON DELETE CASCADE,
    pinned_by  BIGINT REFERENCES app_user (user_id) ON DELETE SET NULL,
    pinned_at  BIGINT NOT NULL
);
CREATE INDEX message_pin_by_room ON message_pin (room_id, pinned_at);

-- Unread announcements are counted over this index (a room has few of them).
CREATE INDEX message_announcements ON message (room_id, seq) WHERE message_type = 'event_update';
