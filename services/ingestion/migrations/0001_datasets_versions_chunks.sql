-- Datasets, expectation suites, dataset versions and their rows.
-- Runs with search_path = ingestion.

-- One row per dataset. `meta` is the serialized mlops.ingestion.v1.Dataset
-- holding the fixed fields (name, description, schema, labels, creator);
-- the head and the current suite are kept in their own columns.
CREATE TABLE datasets (
  name               text PRIMARY KEY,
  meta               bytea NOT NULL,
  suite_version      bigint NOT NULL,
  head_version_id    text NOT NULL DEFAULT '',
  head_sequence      bigint NOT NULL DEFAULT 0,
  head_row_count     bigint NOT NULL DEFAULT 0,
  created_at_micros  bigint NOT NULL,
  updated_at_micros  bigint NOT NULL
);

-- Every suite version of a dataset: serialized mlops.ingestion.v1.ExpectationSuite.
CREATE TABLE expectation_suites (
  dataset   text NOT NULL REFERENCES datasets(name),
  version   bigint NOT NULL,
  suite     bytea NOT NULL,
  PRIMARY KEY (dataset, version)
);

-- Immutable versions. `record` is the serialized
-- mlops.ingestion.v1.DatasetVersion without its report; `report`,
-- `profile` (the whole version) and `batch_profile` (its batch only) are the
-- serialized ValidationReport / common.v1.DatasetProfile. `content_digest`
-- identifies the batch's content (mode, source, rows) for idempotent retries.
CREATE TABLE dataset_versions (
  id                 text PRIMARY KEY,
  dataset            text NOT NULL REFERENCES datasets(name),
  sequence           bigint NOT NULL,
  parent_id          text NOT NULL,
  mode               smallint NOT NULL,
  row_count          bigint NOT NULL,
  batch_row_count    bigint NOT NULL,
  principal          text NOT NULL,
  source             text NOT NULL,
  created_at_micros  bigint NOT NULL,
  suite_version      bigint NOT NULL,
  idempotency_key    text,
  content_digest     text NOT NULL,
  record             bytea NOT NULL,
  report             bytea NOT NULL,
  profile            bytea NOT NULL,
  batch_profile      bytea NOT NULL,
  UNIQUE (dataset, sequence),
  UNIQUE (dataset, idempotency_key)
);

-- Rows are stored in chunks: `rows` is a serialized
-- mlops.ingestion.v1.RowChunk (common.v1.Row encoding), written once by the
-- version that ingested them (chunk id = "<version id>/<n>").
CREATE TABLE chunks (
  id         text PRIMARY KEY,
  row_count  integer NOT NULL,
  rows       bytea NOT NULL
);

-- The stable row order of a version: its chunks by ordinal. An APPEND
-- version lists its parent's chunks first (shared, not copied), then its own.
CREATE TABLE version_chunks (
  version_id  text NOT NULL REFERENCES dataset_versions(id),
  ordinal     integer NOT NULL,
  first_row   bigint NOT NULL,
  row_count   integer NOT NULL,
  chunk_id    text NOT NULL REFERENCES chunks(id),
  PRIMARY KEY (version_id, ordinal)
);
