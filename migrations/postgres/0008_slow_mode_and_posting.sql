-- Slow mode (seconds between a member's posts; 0: off) and who may post.
ALTER TABLE room ADD COLUMN slow_mode_seconds BIGINT NOT NULL DEFAULT 0;
ALTER TABLE room ADD COLUMN posting TEXT NOT NULL DEFAULT 'everyone';
