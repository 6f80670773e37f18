-- Training jobs and pipeline triggers. A job row keeps the filtered fields as
-- columns and the whole TrainingJob (serialized proto) in payload; state only
-- moves forward (the store's updates name the states they may start from).

CREATE TABLE training_job (
  job_id text PRIMARY KEY,
  state smallint NOT NULL,
  experiment text NOT NULL,
  trigger_name text NOT NULL DEFAULT '',
  idempotency_key text,
  spec_fingerprint text NOT NULL,
  created_at_micros bigint NOT NULL,
  updated_at_micros bigint NOT NULL,
  payload bytea NOT NULL
);
CREATE UNIQUE INDEX training_job_idempotency ON training_job (idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX training_job_by_created ON training_job (created_at_micros DESC, job_id DESC);
CREATE INDEX training_job_by_state ON training_job (state, created_at_micros);
CREATE INDEX training_job_by_trigger ON training_job (trigger_name, created_at_micros DESC)
  WHERE trigger_name <> '';

CREATE TABLE pipeline_trigger (
  name text PRIMARY KEY,
  kind smallint NOT NULL,
  model_name text NOT NULL DEFAULT '',
  dataset text NOT NULL DEFAULT '',
  created_at_micros bigint NOT NULL,
  payload bytea NOT NULL
);
CREATE INDEX pipeline_trigger_by_model ON pipeline_trigger (model_name) WHERE model_name <> '';

-- One row per (trigger, idempotency key) fire that started a job.
CREATE TABLE trigger_fire (
  trigger_name text NOT NULL REFERENCES pipeline_trigger (name),
  idempotency_key text NOT NULL,
  job_id text NOT NULL,
  fired_at_micros bigint NOT NULL,
  PRIMARY KEY (trigger_name, idempotency_key)
);
