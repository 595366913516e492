-- Studies (issue 14): a parameter sweep as one object whose points are ordinary run jobs, and
-- share links of a study. A study's state, counts and end are derived from its points' rows
-- (jobs end one by one, each in its own transaction: nothing to keep in step here).

CREATE TABLE studies (
    study_id        text PRIMARY KEY,
    owner           text NOT NULL,
    request_id      text NOT NULL,
    title           text NOT NULL,
    -- The serialized simlab.v1.StudySpec as submitted, its seed drawn.
    spec            bytea NOT NULL,
    model           text NOT NULL,
    model_version   integer NOT NULL,
    primary_output  text NOT NULL,
    -- The swept parameters, in axis order: ["volatility", ...].
    swept           jsonb NOT NULL,
    points          integer NOT NULL,
    -- sha256 of the points' parameters, block sizes and sample counts (not their seeds): a
    -- request_id used again for another sweep is refused, not answered with this study.
    points_digest   text NOT NULL,
    created_at      timestamptz NOT NULL,
    -- Of the study row itself (created, cancel requested); its points have their own.
    updated_at      timestamptz NOT NULL,
    cancelled       boolean NOT NULL DEFAULT false
);

-- Idempotent submission, as for jobs; an empty request_id always makes a new study.
CREATE UNIQUE INDEX studies_owner_request_id ON studies (owner, request_id) WHERE request_id <> '';
-- ListStudies: an owner's studies newest first, keyset-paged on (created_at, study_id).
CREATE INDEX studies_owner_created ON studies (owner, created_at DESC, study_id DESC);

ALTER TABLE jobs
    ADD COLUMN study_id text REFERENCES studies,
    -- The point's index in its study (NULL for a job of no study).
    ADD COLUMN study_point integer;

-- A study's points in index order (ListStudyPoints, ListActiveJobs, GROUP BY state).
CREATE UNIQUE INDEX jobs_study_point ON jobs (study_id, study_point) WHERE study_id IS NOT NULL;
-- The points that changed since a watcher's last poll.
CREATE INDEX jobs_study_updated ON jobs (study_id, updated_at) WHERE study_id IS NOT NULL;

-- A link shares one run or one study (with its points): exactly one of the two.
ALTER TABLE share_links
    ALTER COLUMN job_id DROP NOT NULL,
    ADD COLUMN study_id text REFERENCES studies ON DELETE CASCADE,
    ADD CONSTRAINT share_links_one_target CHECK ((job_id IS NULL) <> (study_id IS NULL));

CREATE INDEX share_links_by_study ON share_links (study_id, created_at DESC)
    WHERE study_id IS NOT NULL;
