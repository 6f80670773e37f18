-- The online store, one row per entity, so that a materialization run
-- writes only the entities it changed (INCREMENTAL: upserts of the
-- recomputed ones) or replaces the whole view version (FULL: upserts, then
-- the entities it did not write are deleted), in the same transaction that
-- marks the run SUCCEEDED. A replica loads a view version in one
-- REPEATABLE READ transaction: always one complete run.
-- `entity_key` is the key as a serialized common.v1.Value; `row_index` the
-- entity's row in the materialized snapshot (load order, so a reloaded
-- snapshot equals the materialized one); `run_id` the run that last wrote
-- the row; `row` a serialized common.v1.Row [entity key, last event time,
-- feature values...] (an unset Value = NULL); `statuses` one byte
-- (features.ValueStatus) per feature.
-- online_chunks (0001) is no longer written; it is read for runs stored
-- before this table existed, and a view version's chunks are deleted by its
-- next successful run.
CREATE TABLE online_rows (
  view TEXT NOT NULL,
  version BIGINT NOT NULL,
  entity_key BYTEA NOT NULL,
  row_index INT NOT NULL,
  run_id BIGINT NOT NULL REFERENCES materialization_runs (id),
  row BYTEA NOT NULL,
  statuses BYTEA NOT NULL,
  PRIMARY KEY (view, version, entity_key),
  FOREIGN KEY (view, version) REFERENCES feature_views (name, version)
);
CREATE INDEX online_rows_by_run ON online_rows (view, version, run_id);
