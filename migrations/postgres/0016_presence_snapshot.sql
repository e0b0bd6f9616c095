-- Who was online when the server last stopped cleanly, and how they showed: a restart
-- keeps them online through the restart grace, so coming back broadcasts nothing.
CREATE TABLE presence_snapshot (
    user_id        BIGINT PRIMARY KEY REFERENCES app_user (user_id) ON DELETE CASCADE,
    chosen         TEXT   NOT NULL,
    custom_message TEXT,
    clears_at      BIGINT,
    last_active_at BIGINT NOT NULL,
    saved_at       BIGINT NOT NULL
);
