-- Pull sources (Postgres queries, CSV folders) and what they have taken.
-- Runs with search_path = ingestion.

-- One row per source. `definition` is the serialized mlops.ingestion.v1.Source
-- with its input fields, created_at_micros and principal (the DSN as given;
-- redacted only when read back). The pull state lives in its own columns:
-- `watermark` (Postgres query sources; NULL = none yet) is an INT64 value or
-- TIMESTAMP micros (`watermark_is_timestamp`) and advances only in the
-- transaction that commits the pull's version; `last_pull` is the serialized
-- SourcePullResult of the last pull.
CREATE TABLE sources (
  name                    text PRIMARY KEY,
  dataset                 text NOT NULL REFERENCES datasets(name),
  definition              bytea NOT NULL,
  interval_micros         bigint NOT NULL,
  paused                  boolean NOT NULL,
  watermark               bigint,
  watermark_is_timestamp  boolean NOT NULL DEFAULT false,
  last_pull               bytea,
  pull_count              bigint NOT NULL DEFAULT 0,
  committed_pull_count    bigint NOT NULL DEFAULT 0,
  next_pull_at_micros     bigint NOT NULL DEFAULT 0,
  created_at_micros       bigint NOT NULL
);

CREATE INDEX sources_by_dataset ON sources (dataset, name);
CREATE INDEX sources_due ON sources (next_pull_at_micros) WHERE interval_micros > 0 AND NOT paused;

-- The files a CSV folder source has ingested, each recorded in the
-- transaction that committed its version. A file is taken once per
-- (name, sha256); size and mtime let a pull skip known files without hashing.
CREATE TABLE source_files (
  source               text NOT NULL REFERENCES sources(name),
  file                 text NOT NULL,
  sha256               text NOT NULL,
  size_bytes           bigint NOT NULL,
  mtime_micros         bigint NOT NULL,
  version_id           text NOT NULL REFERENCES dataset_versions(id),
  ingested_at_micros   bigint NOT NULL,
  PRIMARY KEY (source, file, sha256)
);
