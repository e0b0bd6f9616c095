-- Who did what to whom in a room: moderation actions and admins' reads of rooms they do
-- not participate in. Newest first per room by entry_id.
CREATE TABLE moderation_log (
    entry_id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    room_id          BIGINT NOT NULL REFERENCES room (room_id) ON DELETE CASCADE,
    actor_id         BIGINT NOT NULL REFERENCES app_user (user_id) ON DELETE CASCADE,
    action           TEXT   NOT NULL,
    target_id        BIGINT REFERENCES app_user (user_id) ON DELETE SET NULL,
    message_id       BIGINT,
    reason           TEXT,
    duration_seconds BIGINT,
    created_at       BIGINT NOT NULL
);
CREATE INDEX moderation_log_by_room ON moderation_log (room_id, entry_id);
