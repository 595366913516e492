-- The model registry (issue 11): names and who owns them, immutable versions of registered
-- code, the registrations in flight, and what each job ran.

-- A name belongs to its first pusher; built-in names are reserved (owner '').
CREATE TABLE model_names (
    name     text PRIMARY KEY,
    owner    text NOT NULL,
    builtin  boolean NOT NULL
);

-- Versions 1, 2, ... per name, never changed once written.
CREATE TABLE models (
    name              text NOT NULL REFERENCES model_names,
    version           integer NOT NULL,
    owner             text NOT NULL,
    public            boolean NOT NULL,
    builtin           boolean NOT NULL,
    kind              text NOT NULL,  -- 'blocks' | 'script'
    code_sha256       text NOT NULL,
    code_size         bigint NOT NULL,
    entry             text NOT NULL,
    files             jsonb NOT NULL,
    imports           jsonb NOT NULL,
    warnings          jsonb NOT NULL,
    reproducible      boolean NOT NULL,
    runtime           text NOT NULL,
    block_size        bigint NOT NULL,
    -- A serialized simlab.v1.Model holding the typed interface: title, description,
    -- parameters, outputs, primary_output, reference_output.
    schema            bytea NOT NULL,
    created_at        timestamptz NOT NULL,
    -- The job that inspected the code; NULL for built-in models.
    registration_job  text REFERENCES jobs (job_id),
    PRIMARY KEY (name, version)
);

ALTER TABLE jobs
    ADD COLUMN kind text NOT NULL DEFAULT 'run',  -- 'run' | 'registration'
    ADD COLUMN model_version integer NOT NULL DEFAULT 0,
    ADD COLUMN code_sha256 text NOT NULL DEFAULT '',
    ADD COLUMN runtime text NOT NULL DEFAULT '',
    ADD COLUMN args jsonb NOT NULL DEFAULT '[]',
    -- What a script model said last (simlab.report); a block run derives its estimate from
    -- the moments instead.
    ADD COLUMN reported_estimate double precision,
    ADD COLUMN reported_stderr double precision;

-- What a registration job registers once its worker has inspected the code.
CREATE TABLE registrations (
    job_id       text PRIMARY KEY REFERENCES jobs ON DELETE CASCADE,
    owner        text NOT NULL,
    name         text NOT NULL,
    public       boolean NOT NULL,
    code_sha256  text NOT NULL,
    code_size    bigint NOT NULL,
    entry        text NOT NULL,
    files        jsonb NOT NULL
);
