-- Model registry, labels, API keys and jobs. Applied by `personas migrate` (src/store/migrate.ts)
-- on PostgreSQL and on embedded PGlite alike: keep to SQL both run.

-- One row per published model version. status: ready (published, not active), active, retired
-- (was active, kept for rollback). A version is inserted with its labels in one transaction, so
-- a half-published version is never visible.
CREATE TABLE model_versions (
  version          text PRIMARY KEY CHECK (version ~ '^[A-Za-z0-9_.:-]{1,100}$'),
  status           text NOT NULL CHECK (status IN ('ready', 'active', 'retired')),
  persona_file_sha text NOT NULL,
  manifest         jsonb NOT NULL,
  design           jsonb NOT NULL,
  metrics          jsonb NOT NULL,
  quantification   jsonb NOT NULL,
  personas         text[] NOT NULL,
  customers        integer NOT NULL,
  created_at       timestamptz NOT NULL,
  published_at     timestamptz NOT NULL DEFAULT now(),
  activated_at     timestamptz
);

-- Exactly one row: which version the API serves, and the one before it (for rollback).
-- Switching is one UPDATE of this row, atomic for every reader.
CREATE TABLE active_version (
  singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  version    text REFERENCES model_versions (version),
  previous   text REFERENCES model_versions (version),
  changed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO active_version (singleton, version) VALUES (true, NULL);

-- One trained model per persona of a version (the learner's own JSON format).
CREATE TABLE persona_models (
  version   text NOT NULL REFERENCES model_versions (version) ON DELETE CASCADE,
  persona   text NOT NULL,
  label     text NOT NULL,
  threshold double precision NOT NULL,
  c         double precision NOT NULL,
  features  text[] NOT NULL,
  model     jsonb NOT NULL,
  PRIMARY KEY (version, persona)
);

-- The assignment of every customer under a version (persona NULL: unassigned).
CREATE TABLE assignments (
  version     text NOT NULL REFERENCES model_versions (version) ON DELETE CASCADE,
  customer_id text NOT NULL,
  persona     text,
  confidence  real NOT NULL,
  margin      real NOT NULL,
  PRIMARY KEY (version, customer_id)
);

-- Every customer's calibrated probability for every trained persona of a version.
CREATE TABLE scores (
  version     text NOT NULL REFERENCES model_versions (version) ON DELETE CASCADE,
  customer_id text NOT NULL,
  persona     text NOT NULL,
  score       real NOT NULL,
  PRIMARY KEY (version, customer_id, persona)
);

-- API keys: only a SHA-256 of the secret part is kept; `id` is the public part of the key.
CREATE TABLE api_keys (
  id           text PRIMARY KEY,
  name         text NOT NULL,
  secret_hash  text NOT NULL,
  scopes       text[] NOT NULL CHECK (scopes <@ ARRAY['read', 'score', 'admin']::text[] AND cardinality(scopes) > 0),
  rate_limit   integer NOT NULL CHECK (rate_limit > 0),
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz
);

-- Batch jobs (features, train, score, publish, report) and runs that link them.
CREATE TABLE jobs (
  id          text PRIMARY KEY,
  parent_id   text REFERENCES jobs (id) ON DELETE CASCADE,
  kind        text NOT NULL,
  status      text NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
  stage       text,
  percent     real NOT NULL DEFAULT 0,
  counts      jsonb NOT NULL DEFAULT '{}'::jsonb,
  params      jsonb NOT NULL DEFAULT '{}'::jsonb,
  result      jsonb,
  error       text,
  attempts    integer NOT NULL DEFAULT 0,
  created_at  timestamptz NOT NULL DEFAULT now(),
  started_at  timestamptz,
  finished_at timestamptz,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_parent ON jobs (parent_id);
CREATE INDEX jobs_created ON jobs (created_at DESC);
