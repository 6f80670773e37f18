-- Rollouts on endpoints: a promotion starts one (PENDING) on each endpoint of
-- the model that has a promotion spec; gateways report its progress.
CREATE TABLE rollouts (
  rollout_id TEXT PRIMARY KEY,
  endpoint TEXT NOT NULL REFERENCES endpoints(endpoint),
  model TEXT NOT NULL REFERENCES models(name),
  origin SMALLINT NOT NULL,
  spec BYTEA NOT NULL,
  primary_version BIGINT NOT NULL,
  candidate_version BIGINT NOT NULL,
  state SMALLINT NOT NULL,
  current_step INT NOT NULL,
  transition_request_id TEXT NOT NULL,
  started_by TEXT NOT NULL,
  started_at_micros BIGINT NOT NULL,
  updated_at_micros BIGINT NOT NULL,
  reason TEXT NOT NULL
);
CREATE INDEX rollouts_endpoint ON rollouts (endpoint, started_at_micros DESC);

ALTER TABLE endpoints ADD COLUMN current_rollout TEXT NOT NULL DEFAULT '';

-- One row per accepted report: repeated reports (several gateway replicas)
-- find theirs here and change nothing.
CREATE TABLE deployment_events (
  rollout_id TEXT NOT NULL REFERENCES rollouts(rollout_id),
  event_type SMALLINT NOT NULL,
  step INT NOT NULL,
  audit_sequence BIGINT NOT NULL,
  PRIMARY KEY (rollout_id, event_type, step)
);
