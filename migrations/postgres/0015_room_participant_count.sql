-- A room's participant count, kept by a trigger in the transaction that changes who
-- participates: reading a room (every message send does) no longer counts its members,
-- and a keynote room has thousands.
ALTER TABLE room ADD COLUMN participant_count BIGINT NOT NULL DEFAULT 0;
UPDATE room r SET participant_count = (SELECT COUNT(*) FROM participant p WHERE p.room_id = r.room_id);
CREATE FUNCTION count_participant() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE room SET participant_count = participant_count + 1 WHERE room_id = NEW.room_id;
    ELSE
        UPDATE room SET participant_count = participant_count - 1 WHERE room_id = OLD.room_id;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER participant_counted AFTER INSERT OR DELETE ON participant
    FOR EACH ROW EXECUTE FUNCTION count_participant();
