-- The prediction log packed (search_path = monitoring): one row per
-- LogPredictions message instead of one per prediction, plus a narrow
-- request-id table for the label joins. Postgres spent ~7-8 us of CPU per
-- row of prediction_log (COPY parsing, heap, WAL, two indexes).

-- One message's records (one model version, endpoint and variant). `meta`
-- and `features` hold the columns packed as prediction_log_packing.h
-- describes (big-endian numbers, as int8send / int4send / float8send write
-- them). Stored uncompressed (EXTERNAL): the features are doubles, which
-- compress badly, and pglz would cost more CPU than the disk it saves.
CREATE SEQUENCE prediction_batch_ids;
CREATE TABLE prediction_batches (
  batch_id BIGINT PRIMARY KEY DEFAULT nextval('prediction_batch_ids'),
  model TEXT NOT NULL,
  version BIGINT NOT NULL,
  endpoint TEXT NOT NULL,
  variant INT NOT NULL,
  row_count INT NOT NULL,
  min_timestamp_micros BIGINT NOT NULL,
  max_timestamp_micros BIGINT NOT NULL,
  meta BYTEA NOT NULL,
  features BYTEA NOT NULL
);
ALTER SEQUENCE prediction_batch_ids OWNED BY prediction_batches.batch_id;
ALTER TABLE prediction_batches ALTER COLUMN meta SET STORAGE EXTERNAL,
  ALTER COLUMN features SET STORAGE EXTERNAL;
CREATE INDEX prediction_batches_time
  ON prediction_batches (model, version, max_timestamp_micros);

-- Where each request id was logged: row `row_index` of batch `batch_id`;
-- `classified`: the prediction carries a predicted label. The one per-row
-- index of the log, looked up by equality only (labels, pending labels): a
-- hash index, whose insert cost ~half a btree's on random request ids
-- (measured: ~2.6 vs ~4.5 us of Postgres CPU per row).
CREATE TABLE prediction_requests (
  request_id TEXT NOT NULL,
  batch_id BIGINT NOT NULL,
  row_index INT NOT NULL,
  classified BOOLEAN NOT NULL
);
CREATE INDEX prediction_requests_request ON prediction_requests USING hash (request_id);

-- The rows logged before this migration, packed in batches of up to 1,000
-- per (model, version, endpoint, variant), ordered by time.
CREATE TEMPORARY TABLE migrated_rows ON COMMIT DROP AS
SELECT l.*,
       (row_number() OVER w - 1) / 1000 AS chunk,
       ((row_number() OVER w - 1) % 1000)::int AS row_index
FROM prediction_log l
WINDOW w AS (PARTITION BY model, version, endpoint, variant
             ORDER BY timestamp_micros, request_id);

CREATE TEMPORARY TABLE migrated_batches ON COMMIT DROP AS
SELECT nextval('prediction_batch_ids') AS batch_id, model, version, endpoint, variant, chunk
FROM (SELECT DISTINCT model, version, endpoint, variant, chunk FROM migrated_rows
      ORDER BY model, version, endpoint, variant, chunk) d;

INSERT INTO prediction_batches (batch_id, model, version, endpoint, variant, row_count,
                                min_timestamp_micros, max_timestamp_micros, meta, features)
SELECT b.batch_id, b.model, b.version, b.endpoint, b.variant, count(*)::int,
       min(r.timestamp_micros), max(r.timestamp_micros),
       '\x01'::bytea
         || string_agg(int8send(r.timestamp_micros), ''::bytea ORDER BY r.row_index)
         || string_agg(int8send(r.latency_micros), ''::bytea ORDER BY r.row_index)
         || string_agg(float8send(coalesce(r.score, 0)), ''::bytea ORDER BY r.row_index)
         || string_agg(CASE WHEN r.score IS NULL THEN '\x00'::bytea ELSE '\x01'::bytea END,
                       ''::bytea ORDER BY r.row_index)
         || string_agg(int4send(octet_length(convert_to(r.request_id, 'UTF8'))), ''::bytea
                       ORDER BY r.row_index)
         || string_agg(int4send(octet_length(convert_to(r.predicted_label, 'UTF8'))), ''::bytea
                       ORDER BY r.row_index)
         || string_agg(int4send(octet_length(convert_to(r.error_code, 'UTF8'))), ''::bytea
                       ORDER BY r.row_index)
         || string_agg(convert_to(r.request_id, 'UTF8'), ''::bytea ORDER BY r.row_index)
         || string_agg(convert_to(r.predicted_label, 'UTF8'), ''::bytea ORDER BY r.row_index)
         || string_agg(convert_to(r.error_code, 'UTF8'), ''::bytea ORDER BY r.row_index),
       '\x01'::bytea
         || string_agg(int4send(octet_length(r.features)), ''::bytea ORDER BY r.row_index)
         || string_agg(r.features, ''::bytea ORDER BY r.row_index)
FROM migrated_batches b
JOIN migrated_rows r USING (model, version, endpoint, variant, chunk)
GROUP BY b.batch_id, b.model, b.version, b.endpoint, b.variant;

INSERT INTO prediction_requests (request_id, batch_id, row_index, classified)
SELECT r.request_id, b.batch_id, r.row_index, r.predicted_label <> ''
FROM migrated_batches b
JOIN migrated_rows r USING (model, version, endpoint, variant, chunk);

DROP TABLE prediction_log;
