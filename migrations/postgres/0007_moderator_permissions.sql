-- A moderator's grants, comma-separated (`mute,kick`); NULL for the grants moderators had
-- before they were granular (everything but managing moderators).
ALTER TABLE participant ADD COLUMN permissions TEXT;
