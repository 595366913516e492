-- Read-only share links to one run. Only the token's sha256 is kept: a leaked database does
-- not leak working links.

CREATE TABLE share_links (
    link_id       text PRIMARY KEY,
    token_sha256  text NOT NULL UNIQUE,
    owner         text NOT NULL,
    job_id        text NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL,
    -- NULL: never expires; NULL: not revoked.
    expires_at    timestamptz,
    revoked_at    timestamptz
);

CREATE INDEX share_links_by_job ON share_links (job_id, created_at DESC);
