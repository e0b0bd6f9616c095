-- A room's participant count, kept by triggers in the transaction that changes who
-- participates: reading a room (every message send does) no longer counts its members,
-- and a keynote room has thousands.
ALTER TABLE room ADD COLUMN participant_count INTEGER NOT NULL DEFAULT 0;
UPDATE room SET participant_count = (SELECT COUNT(*) FROM participant p WHERE p.room_id = room.room_id);
CREATE TRIGGER participant_counted AFTER INSERT ON participant BEGIN
    UPDATE room SET participant_count = participant_count + 1 WHERE room_id = NEW.room_id;
END;
CREATE TRIGGER participant_uncounted AFTER DELETE ON participant BEGIN
    UPDATE room SET participant_count = participant_count - 1 WHERE room_id = OLD.room_id;
END;
