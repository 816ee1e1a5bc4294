-- The reference files a version's features were built with (INSEE tiles, births by first name,
-- La Poste postcodes), kept in the store so the API can build the features of a new customer
-- exactly as the batch did (POST /v1/score with raw customer rows). A file is stored once per
-- content (sha256), however many versions use it.
CREATE TABLE reference_files (
  sha       text PRIMARY KEY CHECK (sha ~ '^[0-9a-f]{64}$'),
  kind      text NOT NULL CHECK (kind IN ('tiles', 'first_names', 'postcodes')),
  source    text NOT NULL,
  rows      integer NOT NULL,
  -- The whole file, for the small ones (postcodes); NULL when its rows are in a table below.
  content   bytea,
  loaded_at timestamptz NOT NULL DEFAULT now()
);

-- One row per inhabited 200 m cell: its south-west corner in the grid's CRS and the raw INSEE
-- counts the tile features are computed from (in the order of `tile_columns` of the loader).
CREATE TABLE reference_tiles (
  sha    text NOT NULL REFERENCES reference_files (sha) ON DELETE CASCADE,
  crs    integer NOT NULL,
  x      bigint NOT NULL,
  y      bigint NOT NULL,
  counts text[] NOT NULL,
  PRIMARY KEY (sha, crs, x, y)
);

-- Births by first name, sex and year (the INSEE file's rows, names upper-cased and trimmed).
CREATE TABLE reference_births (
  sha    text NOT NULL REFERENCES reference_files (sha) ON DELETE CASCADE,
  name   text NOT NULL,
  sexe   text NOT NULL,
  annais text NOT NULL,
  nombre text NOT NULL
);
CREATE INDEX reference_births_name ON reference_births (sha, name);

-- Which reference files (by kind -> sha) and which purchase categories a version's features used.
ALTER TABLE model_versions ADD COLUMN inputs jsonb;
