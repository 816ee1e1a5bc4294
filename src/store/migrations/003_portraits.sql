-- Portrait statistics of a version (how each persona's members differ from the base), kept at
-- publish time so GET /v1/report can draw the portraits without the run's feature table.
ALTER TABLE model_versions ADD COLUMN portraits jsonb;
