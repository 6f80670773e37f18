-- The monitoring service's tables (search_path = monitoring).

-- One reference per model version; `reference` is a serialized
-- mlops.monitoring.v1.Reference (its profile a common.v1.DatasetProfile).
CREATE TABLE model_references (
  model TEXT NOT NULL,
  version BIGINT NOT NULL,
  reference BYTEA NOT NULL,
  set_at_micros BIGINT NOT NULL,
  PRIMARY KEY (model, version)
);

-- Raw reference values per numeric feature (little-endian float64 array),
-- a uniform sample with a fixed seed, for exact KS / Wasserstein.
CREATE TABLE reference_samples (
  model TEXT NOT NULL,
  version BIGINT NOT NULL,
  feature TEXT NOT NULL,
  value_count BIGINT NOT NULL,
  vals BYTEA NOT NULL,
  PRIMARY KEY (model, version, feature),
  FOREIGN KEY (model, version) REFERENCES model_references (model, version) ON DELETE CASCADE
);

-- Per-model configuration: a serialized mlops.monitoring.v1.MonitoringConfig.
CREATE TABLE monitoring_configs (
  model TEXT PRIMARY KEY,
  config BYTEA NOT NULL,
  updated_at_micros BIGINT NOT NULL
);

-- Raw prediction records, written in batches by COPY.
CREATE TABLE prediction_log (
  model TEXT NOT NULL,
  version BIGINT NOT NULL,
  endpoint TEXT NOT NULL,
  variant INT NOT NULL,
  request_id TEXT NOT NULL,
  timestamp_micros BIGINT NOT NULL,
  features BYTEA NOT NULL,
  score DOUBLE PRECISION,
  predicted_label TEXT NOT NULL,
  latency_micros BIGINT NOT NULL,
  error_code TEXT NOT NULL
);
CREATE INDEX prediction_log_request ON prediction_log (request_id);
CREATE INDEX prediction_log_time ON prediction_log (model, version, timestamp_micros);

-- Alert policies: a serialized mlops.monitoring.v1.AlertPolicy per (model, name).
CREATE TABLE alert_policies (
  model TEXT NOT NULL,
  name TEXT NOT NULL,
  policy BYTEA NOT NULL,
  updated_at_micros BIGINT NOT NULL,
  PRIMARY KEY (model, name)
);
