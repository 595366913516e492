-- Precision targets, the result cache and top-ups (issue 13).

ALTER TABLE jobs
    -- {"rel_tol", "abs_tol", "confidence", "min_blocks", "two_stage"}; NULL: no target.
    ADD COLUMN precision jsonb,
    -- The contiguous recorded blocks 0..prefix_blocks-1, and the primary output's moments of
    -- blocks prefix_start..prefix_blocks-1 merged in block order.
    ADD COLUMN prefix_blocks bigint NOT NULL DEFAULT 0,
    ADD COLUMN prefix_start bigint NOT NULL DEFAULT 0,
    ADD COLUMN prefix_count bigint NOT NULL DEFAULT 0,
    ADD COLUMN prefix_mean double precision NOT NULL DEFAULT 0,
    ADD COLUMN prefix_m2 double precision NOT NULL DEFAULT 0,
    -- Where the run stops, decided once: 'precision_reached' | 'budget_exhausted'; the result
    -- merges blocks [stop_first_block, stop_end_block).
    ADD COLUMN stop_reason text,
    ADD COLUMN stop_first_block bigint,
    ADD COLUMN stop_end_block bigint,
    -- sha256 of what makes the result; NULL for runs that are never reused (random seed).
    ADD COLUMN fingerprint text,
    -- A cache hit: the job whose result this one is; a top-up: the job it reused blocks of.
    ADD COLUMN cached_from text NOT NULL DEFAULT '',
    ADD COLUMN extends text NOT NULL DEFAULT '';

-- Each block's primary output moments, so the prefix advances by reading rows; NULL in rows
-- recorded before this migration.
ALTER TABLE block_stats
    ADD COLUMN count bigint,
    ADD COLUMN mean double precision,
    ADD COLUMN m2 double precision;

-- The cache lookup: finished runs (not themselves hits) by fingerprint.
CREATE INDEX jobs_fingerprint ON jobs (fingerprint, created_at)
    WHERE state = 'SUCCEEDED' AND cached_from = '' AND fingerprint IS NOT NULL;
