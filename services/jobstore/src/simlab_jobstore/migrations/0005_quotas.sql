-- Per-user quotas count what a user holds at once: their active jobs and their live share
-- links, without scanning everything they ever had.
CREATE INDEX jobs_owner_active ON jobs (owner)
    WHERE state NOT IN ('SUCCEEDED', 'FAILED', 'CANCELLED');

CREATE INDEX share_links_owner_live ON share_links (owner) WHERE revoked_at IS NULL;
