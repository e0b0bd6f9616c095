-- How many reactions a message has: pages whose messages have none skip the reactions query.
ALTER TABLE message ADD COLUMN reaction_count INTEGER NOT NULL DEFAULT 0;
UPDATE message SET reaction_count = (SELECT COUNT(*) FROM reaction r WHERE r.message_id = message.message_id);
