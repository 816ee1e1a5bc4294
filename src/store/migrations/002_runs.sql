-- Batch runs (src/jobs): a version is created in status `scoring` while partition jobs write its
-- labels, and becomes `ready` (then maybe `active`) only when every partition is done. Files a
-- run produces pass through the store, so workers on any machine that reaches PostgreSQL can
-- take any job.
ALTER TABLE model_versions DROP CONSTRAINT model_versions_status_check;
ALTER TABLE model_versions ADD CONSTRAINT model_versions_status_check CHECK (status IN ('scoring', 'ready', 'active', 'retired'));

CREATE TABLE run_files (
  run_id     text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  name       text NOT NULL,
  content    bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, name)
);

ALTER TABLE jobs ADD COLUMN run_id text REFERENCES jobs (id) ON DELETE CASCADE;
ALTER TABLE jobs ADD COLUMN attempts_allowed integer NOT NULL DEFAULT 1;
ALTER TABLE jobs ADD COLUMN worker text;
CREATE INDEX jobs_run ON jobs (run_id);
