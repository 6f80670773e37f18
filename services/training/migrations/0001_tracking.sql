-- Experiment tracking: experiments, runs, params, tags, metric points, the
-- latest value of each metric (for ListRuns filters and ordering), artifacts.
-- Runs with search_path = training.

CREATE TABLE experiment (
  name text PRIMARY KEY,
  description text NOT NULL DEFAULT '',
  tag_keys text[] NOT NULL DEFAULT '{}',
  tag_values text[] NOT NULL DEFAULT '{}',
  principal text NOT NULL DEFAULT '',
  created_at_micros bigint NOT NULL
);

INSERT INTO experiment (name, description, principal, created_at_micros)
VALUES ('default', 'The default experiment', 'system',
        (extract(epoch FROM now()) * 1000000)::bigint);

CREATE TABLE run (
  run_id text PRIMARY KEY,
  experiment text NOT NULL REFERENCES experiment (name),
  name text NOT NULL DEFAULT '',
  status smallint NOT NULL,
  principal text NOT NULL,
  created_at_micros bigint NOT NULL,
  start_time_micros bigint NOT NULL,
  end_time_micros bigint NOT NULL DEFAULT 0,
  failure_reason text NOT NULL DEFAULT '',
  job_id text NOT NULL DEFAULT '',
  trial_index integer NOT NULL DEFAULT 0,
  attempt integer NOT NULL DEFAULT 1,
  -- Pinned inputs (RunInputs), as given.
  in_dataset text NOT NULL DEFAULT '',
  in_dataset_version_id text NOT NULL DEFAULT '',
  in_feature_refs text[] NOT NULL DEFAULT '{}',
  in_feature_view_versions text[] NOT NULL DEFAULT '{}',
  in_source_keys text[] NOT NULL DEFAULT '{}',
  in_source_values text[] NOT NULL DEFAULT '{}',
  in_dataset_feature_columns text[] NOT NULL DEFAULT '{}',
  in_label_column text NOT NULL DEFAULT '',
  in_trainer text NOT NULL DEFAULT '',
  in_trainer_version text NOT NULL DEFAULT '',
  in_code_version text NOT NULL DEFAULT '',
  in_seed bigint NOT NULL DEFAULT 0,
  split_kind smallint NOT NULL DEFAULT 0,
  split_test_fraction double precision NOT NULL DEFAULT 0,
  split_validation_fraction double precision NOT NULL DEFAULT 0,
  split_seed bigint NOT NULL DEFAULT 0,
  split_time_cutoff_micros bigint NOT NULL DEFAULT 0
);

CREATE INDEX run_by_start ON run (start_time_micros, run_id);
CREATE INDEX run_by_experiment_start ON run (experiment, start_time_micros, run_id);
CREATE INDEX run_by_status_start ON run (status, start_time_micros, run_id);
CREATE INDEX run_by_job ON run (job_id) WHERE job_id <> '';

CREATE TABLE run_param (
  run_id text NOT NULL REFERENCES run (run_id) ON DELETE CASCADE,
  key text NOT NULL,
  value text NOT NULL,
  PRIMARY KEY (run_id, key)
);
CREATE INDEX run_param_by_key_value ON run_param (key, value);

CREATE TABLE run_tag (
  run_id text NOT NULL REFERENCES run (run_id) ON DELETE CASCADE,
  key text NOT NULL,
  value text NOT NULL,
  PRIMARY KEY (run_id, key)
);
CREATE INDEX run_tag_by_key_value ON run_tag (key, value);

-- Every logged point. seq orders points with equal (step, timestamp) and
-- keys the history's page token.
CREATE TABLE metric (
  run_id text NOT NULL,
  key text NOT NULL,
  step bigint NOT NULL,
  timestamp_micros bigint NOT NULL,
  value double precision NOT NULL,
  seq bigint GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX metric_history ON metric (run_id, key, step, timestamp_micros, seq);

-- The latest point (highest step, then latest timestamp) of each metric of a
-- run, with min, max and count. ListRuns filters and orders on it.
CREATE TABLE run_latest_metric (
  run_id text NOT NULL REFERENCES run (run_id) ON DELETE CASCADE,
  key text NOT NULL,
  value double precision NOT NULL,
  step bigint NOT NULL,
  timestamp_micros bigint NOT NULL,
  min_value double precision NOT NULL,
  max_value double precision NOT NULL,
  count bigint NOT NULL,
  PRIMARY KEY (run_id, key)
);
CREATE INDEX run_latest_metric_by_key_value ON run_latest_metric (key, value, run_id);

-- Content-addressed blobs, stored once per sha256 in chunks of 1 MiB.
CREATE TABLE blob (
  sha256 text PRIMARY KEY,
  size_bytes bigint NOT NULL
);
CREATE TABLE blob_chunk (
  sha256 text NOT NULL REFERENCES blob (sha256),
  chunk_index integer NOT NULL,
  data bytea NOT NULL,
  PRIMARY KEY (sha256, chunk_index)
);

CREATE TABLE artifact (
  run_id text NOT NULL REFERENCES run (run_id) ON DELETE CASCADE,
  path text NOT NULL,
  sha256 text NOT NULL REFERENCES blob (sha256),
  size_bytes bigint NOT NULL,
  content_type text NOT NULL DEFAULT '',
  created_at_micros bigint NOT NULL,
  PRIMARY KEY (run_id, path)
);
CREATE INDEX artifact_by_sha ON artifact (sha256);
