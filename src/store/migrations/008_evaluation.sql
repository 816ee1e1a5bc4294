-- A version's labels checked against customers whose persona is known (personas evaluate):
-- published with the run's evaluation.json, or recorded by `personas evaluate --version`; the
-- report served from the store shows it.
ALTER TABLE model_versions ADD COLUMN evaluation jsonb;
