-- A room's own blocked words (one per line) and what happens to a message holding one.
ALTER TABLE room ADD COLUMN blocked_words TEXT NOT NULL DEFAULT '';
ALTER TABLE room ADD COLUMN filter_mode TEXT NOT NULL DEFAULT 'reject';
