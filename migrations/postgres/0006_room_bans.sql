-- Who may not (re)join a room, until when (NULL: until unbanned).
CREATE TABLE room_ban (
    room_id    BIGINT NOT NULL REFERENCES room (room_id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES app_user (user_id) ON DELETE CASCADE,
    banned_by  BIGINT REFERENCES app_user (user_id) ON DELETE SET NULL,
    reason     TEXT,
    until      BIGINT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
