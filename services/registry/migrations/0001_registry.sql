-- The registry's tables (schema "registry"; search_path is set by the runner).
CREATE TABLE models (
  name TEXT PRIMARY KEY,
  description TEXT NOT NULL DEFAULT '',
  owner TEXT NOT NULL DEFAULT '',
  created_at_micros BIGINT NOT NULL,
  created_by TEXT NOT NULL,
  latest_version BIGINT NOT NULL DEFAULT 0,
  production_version BIGINT NOT NULL DEFAULT 0,
  generation BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE model_tags (
  model TEXT NOT NULL REFERENCES models(name),
  ordinal INT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (model, ordinal)
);

-- Content-addressed artifacts: stored once per sha256.
CREATE TABLE artifacts (
  sha256 TEXT PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  size_bytes BIGINT NOT NULL,
  data BYTEA NOT NULL,
  created_at_micros BIGINT NOT NULL
);

CREATE TABLE versions (
  model TEXT NOT NULL REFERENCES models(name),
  version BIGINT NOT NULL,
  stage SMALLINT NOT NULL DEFAULT 1,
  stage_changed_at_micros BIGINT NOT NULL,
  artifact_sha256 TEXT NOT NULL REFERENCES artifacts(sha256),
  artifact_size BIGINT NOT NULL,
  run_id TEXT NOT NULL DEFAULT '',
  training_dataset_version TEXT NOT NULL DEFAULT '',
  metadata BYTEA NOT NULL,
  created_at_micros BIGINT NOT NULL,
  created_by TEXT NOT NULL,
  PRIMARY KEY (model, version)
);
-- Exactly one production version per model.
CREATE UNIQUE INDEX versions_one_production ON versions (model) WHERE stage = 3;
CREATE INDEX versions_stage ON versions (stage, model, version);
CREATE INDEX versions_run ON versions (run_id) WHERE run_id <> '';
CREATE INDEX versions_dataset ON versions (training_dataset_version)
  WHERE training_dataset_version <> '';
CREATE INDEX versions_created ON versions (created_at_micros);

CREATE TABLE version_tags (
  model TEXT NOT NULL,
  version BIGINT NOT NULL,
  ordinal INT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (model, version, ordinal),
  FOREIGN KEY (model, version) REFERENCES versions(model, version)
);
CREATE INDEX version_tags_kv ON version_tags (key, value);

CREATE TABLE evaluations (
  model TEXT NOT NULL,
  version BIGINT NOT NULL,
  ordinal INT NOT NULL,
  name TEXT NOT NULL,
  dataset_version TEXT NOT NULL,
  recorded_at_micros BIGINT NOT NULL,
  PRIMARY KEY (model, version, ordinal),
  FOREIGN KEY (model, version) REFERENCES versions(model, version)
);

CREATE TABLE evaluation_metrics (
  model TEXT NOT NULL,
  version BIGINT NOT NULL,
  ordinal INT NOT NULL,
  metric TEXT NOT NULL,
  value DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (model, version, ordinal, metric),
  FOREIGN KEY (model, version, ordinal) REFERENCES evaluations(model, version, ordinal)
);

CREATE TABLE aliases (
  model TEXT NOT NULL REFERENCES models(name),
  name TEXT NOT NULL,
  version BIGINT NOT NULL,
  updated_at_micros BIGINT NOT NULL,
  updated_by TEXT NOT NULL,
  PRIMARY KEY (model, name),
  FOREIGN KEY (model, version) REFERENCES versions(model, version)
);

CREATE TABLE gate_policies (
  model TEXT PRIMARY KEY REFERENCES models(name),
  policy_version BIGINT NOT NULL,
  require_staging BOOLEAN NOT NULL,
  staging_approvals INT NOT NULL,
  staging_approval_role SMALLINT NOT NULL,
  production_approvals INT NOT NULL,
  production_approval_role SMALLINT NOT NULL,
  updated_at_micros BIGINT NOT NULL,
  updated_by TEXT NOT NULL
);

-- One row per check of the current policy (kind 1 threshold, 2 champion/challenger).
CREATE TABLE gate_checks (
  model TEXT NOT NULL REFERENCES gate_policies(model),
  stage SMALLINT NOT NULL,
  ordinal INT NOT NULL,
  kind SMALLINT NOT NULL,
  name TEXT NOT NULL,
  metric TEXT NOT NULL,
  comparison SMALLINT NOT NULL,
  value DOUBLE PRECISION NOT NULL,
  evaluation_name TEXT NOT NULL,
  direction SMALLINT NOT NULL,
  relative BOOLEAN NOT NULL,
  fail_if_no_champion BOOLEAN NOT NULL,
  PRIMARY KEY (model, stage, ordinal)
);

CREATE TABLE transitions (
  id TEXT PRIMARY KEY,
  model TEXT NOT NULL,
  version BIGINT NOT NULL,
  from_stage SMALLINT NOT NULL,
  target_stage SMALLINT NOT NULL,
  reason TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  requested_at_micros BIGINT NOT NULL,
  status SMALLINT NOT NULL,
  report_passed BOOLEAN NOT NULL,
  policy_version BIGINT NOT NULL,
  evaluated_at_micros BIGINT NOT NULL,
  resolved_at_micros BIGINT NOT NULL DEFAULT 0,
  replaced_production_version BIGINT NOT NULL DEFAULT 0,
  evaluated_generation BIGINT NOT NULL,
  allow_empty_production BOOLEAN NOT NULL DEFAULT FALSE,
  required_approvals INT NOT NULL DEFAULT 0,
  approval_role SMALLINT NOT NULL DEFAULT 3,
  FOREIGN KEY (model, version) REFERENCES versions(model, version)
);
-- At most one pending request per version and target.
CREATE UNIQUE INDEX transitions_one_pending ON transitions (model, version, target_stage)
  WHERE status = 1;

CREATE TABLE transition_checks (
  request_id TEXT NOT NULL REFERENCES transitions(id),
  ordinal INT NOT NULL,
  name TEXT NOT NULL,
  kind SMALLINT NOT NULL,
  outcome SMALLINT NOT NULL,
  metric TEXT NOT NULL,
  measured DOUBLE PRECISION NOT NULL,
  limit_value DOUBLE PRECISION NOT NULL,
  comparison SMALLINT NOT NULL,
  candidate_value DOUBLE PRECISION NOT NULL,
  champion_value DOUBLE PRECISION NOT NULL,
  champion_version BIGINT NOT NULL,
  message TEXT NOT NULL,
  PRIMARY KEY (request_id, ordinal)
);

CREATE TABLE approvals (
  request_id TEXT NOT NULL REFERENCES transitions(id),
  principal TEXT NOT NULL,
  role TEXT NOT NULL,
  approved BOOLEAN NOT NULL,
  comment TEXT NOT NULL,
  at_micros BIGINT NOT NULL,
  PRIMARY KEY (request_id, principal)
);

-- The hash-chained audit log (see audit_chain.h for the encoding).
CREATE TABLE audit_log (
  sequence BIGINT PRIMARY KEY,
  at_micros BIGINT NOT NULL,
  principal TEXT NOT NULL,
  event_type INT NOT NULL,
  model TEXT NOT NULL,
  version BIGINT NOT NULL,
  endpoint TEXT NOT NULL,
  request_id TEXT NOT NULL,
  before_json TEXT NOT NULL,
  after_json TEXT NOT NULL,
  reason TEXT NOT NULL,
  details_json TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  entry_hash TEXT NOT NULL
);
CREATE INDEX audit_log_model ON audit_log (model, sequence);
CREATE INDEX audit_log_at ON audit_log (at_micros);

-- The chain's head; locked by every append so that entries are serialized.
CREATE TABLE audit_head (
  id INT PRIMARY KEY CHECK (id = 1),
  sequence BIGINT NOT NULL,
  entry_hash TEXT NOT NULL
);
INSERT INTO audit_head VALUES (1, 0, repeat('0', 64));
