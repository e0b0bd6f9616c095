-- Accounts, login sessions, events and their attendees.
-- Times are milliseconds since the Unix epoch (UTC) in both backends.

CREATE TABLE app_user (
    user_id         INTEGER PRIMARY KEY AUTOINCREMENT,
    username        TEXT    NOT NULL,
    -- ASCII-lowercased username: uniqueness and login ignore case.
    username_folded TEXT    NOT NULL UNIQUE,
    display_name    TEXT    NOT NULL,
    password_hash   TEXT    NOT NULL,
    role            TEXT    NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    created_at      INTEGER NOT NULL
);

CREATE TABLE session (
    session_id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- SHA-256 of the bearer token; the token itself is never stored.
    token_hash TEXT    NOT NULL UNIQUE,
    user_id    INTEGER NOT NULL REFERENCES app_user (user_id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX session_by_user ON session (user_id);
CREATE INDEX session_by_expiry ON session (expires_at);

CREATE TABLE event (
    event_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    title        TEXT    NOT NULL,
    starts_at    INTEGER NOT NULL,
    ends_at      INTEGER,
    organizer_id INTEGER NOT NULL REFERENCES app_user (user_id),
    created_at   INTEGER NOT NULL
);
CREATE INDEX event_by_start ON event (starts_at, event_id);

CREATE TABLE event_attendee (
    event_id      INTEGER NOT NULL REFERENCES event (event_id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES app_user (user_id) ON DELETE CASCADE,
    registered_at INTEGER NOT NULL,
    PRIMARY KEY (event_id, user_id)
);
CREATE INDEX event_attendee_by_user ON event_attendee (user_id);
