-- Admins disable accounts: a disabled account cannot sign in, and its sessions end.
ALTER TABLE app_user ADD COLUMN disabled_at BIGINT;
