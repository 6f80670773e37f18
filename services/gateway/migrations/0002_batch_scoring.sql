-- Batch scoring jobs (SubmitBatchScoring). state: 1 queued, 2 running,
-- 3 succeeded, 4 failed (inference.v1.BatchJobState). Unfinished jobs are
-- picked up again when a gateway starts.
CREATE TABLE batch_jobs (
  job_id                 text PRIMARY KEY,
  model                  text NOT NULL,
  version                bigint NOT NULL,
  input_dataset_version  text NOT NULL,
  feature_source         integer NOT NULL,
  output_dataset         text NOT NULL,
  passthrough_columns    text NOT NULL,  -- comma-separated names (the naming rule has no comma)
  output_prefix          text NOT NULL,
  idempotency_key        text NOT NULL,
  state                  integer NOT NULL,
  output_dataset_version text NOT NULL DEFAULT '',
  rows_total             bigint NOT NULL DEFAULT 0,
  rows_scored            bigint NOT NULL DEFAULT 0,
  rows_per_second        double precision NOT NULL DEFAULT 0,
  submitted_at_micros    bigint NOT NULL,
  started_at_micros      bigint NOT NULL DEFAULT 0,
  finished_at_micros     bigint NOT NULL DEFAULT 0,
  submitted_by           text NOT NULL,
  error                  text NOT NULL DEFAULT '',
  attempts               integer NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX batch_jobs_idempotency ON batch_jobs (idempotency_key)
  WHERE idempotency_key <> '';
CREATE INDEX batch_jobs_unfinished ON batch_jobs (submitted_at_micros) WHERE state IN (1, 2);
