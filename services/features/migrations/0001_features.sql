-- The feature service's tables (schema "features"; search_path is set by the runner).

-- Every registered version of every feature view. `view_proto` is the
-- serialized mlops.features.v1.FeatureView (spec with defaults filled in).
CREATE TABLE feature_views (
  name TEXT NOT NULL,
  version BIGINT NOT NULL CHECK (version > 0),
  definition_hash TEXT NOT NULL CHECK (definition_hash ~ '^[0-9a-f]{64}$'),
  source_dataset TEXT NOT NULL,
  created_at_micros BIGINT NOT NULL,
  view_proto BYTEA NOT NULL,
  PRIMARY KEY (name, version)
);
CREATE INDEX feature_views_by_dataset ON feature_views (source_dataset, name, version);

-- Materialization runs of view versions.
CREATE TABLE materialization_runs (
  id BIGSERIAL PRIMARY KEY,
  view TEXT NOT NULL,
  version BIGINT NOT NULL,
  state SMALLINT NOT NULL,
  requested_mode SMALLINT NOT NULL,
  mode SMALLINT NOT NULL,
  as_of_micros BIGINT NOT NULL,
  source_version_id TEXT NOT NULL DEFAULT '',
  source_version_created_micros BIGINT NOT NULL DEFAULT 0,
  rows_read BIGINT NOT NULL DEFAULT 0,
  entities_written BIGINT NOT NULL DEFAULT 0,
  started_at_micros BIGINT NOT NULL,
  finished_at_micros BIGINT NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '',
  trigger TEXT NOT NULL DEFAULT '',
  principal TEXT NOT NULL DEFAULT '',
  FOREIGN KEY (view, version) REFERENCES feature_views (name, version)
);
CREATE INDEX materialization_runs_by_view ON materialization_runs (view, version, id DESC);

-- The online store: the values of the newest successful run of each view
-- version, in chunks of entities. `chunk` is a serialized
-- mlops.features.v1.FeatureRowChunk whose rows are
-- [entity key, last event time, feature values...] (an unset Value = NULL);
-- `statuses` holds one byte (features.ValueStatus) per (entity, feature).
CREATE TABLE online_chunks (
  run_id BIGINT NOT NULL REFERENCES materialization_runs (id),
  chunk_index INT NOT NULL,
  entity_count INT NOT NULL,
  chunk BYTEA NOT NULL,
  statuses BYTEA NOT NULL,
  PRIMARY KEY (run_id, chunk_index)
);
