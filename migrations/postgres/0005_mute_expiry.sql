-- Mutes that run out are found without scanning every participant.
CREATE INDEX participant_muted_until ON participant (muted_until) WHERE muted_until IS NOT NULL;
