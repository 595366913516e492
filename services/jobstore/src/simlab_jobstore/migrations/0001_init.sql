-- Jobs, their shards, blocks and progress, users' presets, and the event outbox.

CREATE TABLE jobs (
    job_id          text PRIMARY KEY,
    owner           text NOT NULL,
    request_id      text NOT NULL,
    model           text NOT NULL,
    parameters      jsonb NOT NULL,
    -- Seeds are uint64: numeric keeps all 64 bits.
    seed            numeric(20, 0) NOT NULL,
    requested_seed  numeric(20, 0) NOT NULL,
    shards          integer NOT NULL,
    primary_output  text NOT NULL,
    block_size      bigint NOT NULL,
    samples_total   bigint NOT NULL,
    blocks_total    bigint NOT NULL,
    state           text NOT NULL,
    seq             bigint NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    -- Every state entered: [{"state", "at", "reason"}, ...].
    history         jsonb NOT NULL,
    blocks_done     bigint NOT NULL DEFAULT 0,
    samples_done    bigint NOT NULL DEFAULT 0,
    -- Running moments of the primary output (the live estimate).
    moments_count   bigint NOT NULL DEFAULT 0,
    moments_mean    double precision NOT NULL DEFAULT 0,
    moments_m2      double precision NOT NULL DEFAULT 0,
    summary         jsonb,
    error_message   text,
    error_traceback text,
    error_source    text,
    error_log_tail  text,
    finalizer_shard integer
);

-- Idempotent submission; an empty request_id always makes a new job.
CREATE UNIQUE INDEX jobs_owner_request_id ON jobs (owner, request_id) WHERE request_id <> '';
-- ListJobs: an owner's jobs newest first, keyset-paged on (created_at, job_id).
CREATE INDEX jobs_owner_created ON jobs (owner, created_at DESC, job_id DESC);
-- ListActiveJobs at the runner's start-up.
CREATE INDEX jobs_active ON jobs (state)
    WHERE state NOT IN ('SUCCEEDED', 'FAILED', 'CANCELLED');

CREATE TABLE job_shards (
    job_id  text NOT NULL REFERENCES jobs ON DELETE CASCADE,
    shard   integer NOT NULL,
    done    boolean NOT NULL DEFAULT false,
    PRIMARY KEY (job_id, shard)
);

-- Each block's statistics as the worker sent them (a serialized simlab.v1.BlockStats).
CREATE TABLE block_stats (
    job_id  text NOT NULL REFERENCES jobs ON DELETE CASCADE,
    block   bigint NOT NULL,
    shard   integer NOT NULL,
    stats   bytea NOT NULL,
    PRIMARY KEY (job_id, block)
);

CREATE TABLE progress_points (
    job_id        text NOT NULL REFERENCES jobs ON DELETE CASCADE,
    seq           bigint NOT NULL,
    samples_done  bigint NOT NULL,
    estimate      double precision,
    stderr        double precision,
    at            timestamptz NOT NULL,
    PRIMARY KEY (job_id, seq)
);

CREATE TABLE presets (
    owner       text NOT NULL,
    name        text NOT NULL,
    model       text NOT NULL,
    parameters  jsonb NOT NULL,
    seed        numeric(20, 0) NOT NULL,
    shards      integer NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (owner, name)
);

-- Events written in the same transaction as the change; the relay publishes them to
-- JetStream in id order and deletes them.
CREATE TABLE outbox (
    id          bigserial PRIMARY KEY,
    event_id    text NOT NULL,
    subject     text NOT NULL,
    payload     bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
