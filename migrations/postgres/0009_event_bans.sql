-- Bans from every room of an event, including rooms created later.
CREATE TABLE event_ban (
    event_id   BIGINT NOT NULL REFERENCES event (event_id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES app_user (user_id) ON DELETE CASCADE,
    banned_by  BIGINT REFERENCES app_user (user_id) ON DELETE SET NULL,
    reason     TEXT,
    until      BIGINT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (event_id, user_id)
);
