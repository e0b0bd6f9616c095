-- Participant lists page by role (owners, moderators, members) and then username with
-- an index range scan, however many thousands are in the room. The username is copied
-- in (usernames do not change) so the order lives in one index.
ALTER TABLE participant ADD COLUMN role_rank INTEGER NOT NULL DEFAULT 2;
ALTER TABLE participant ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
UPDATE participant SET
    role_rank = CASE role WHEN 'owner' THEN 0 WHEN 'moderator' THEN 1 ELSE 2 END,
    name_key = (SELECT u.username_folded FROM app_user u WHERE u.user_id = participant.user_id);
CREATE INDEX participant_page ON participant (room_id, role_rank, name_key);
