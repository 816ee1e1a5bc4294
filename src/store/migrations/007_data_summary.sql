-- What the base of a version held and how it was read (customers, as-of date, rejected and
-- repaired rows by file and reason, file formats): the report's data section, from the store.
ALTER TABLE model_versions ADD COLUMN data_summary jsonb;
