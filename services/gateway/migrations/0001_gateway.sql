-- What each endpoint serves, and every rollout the gateway ran (the latest
-- per endpoint is its current or last one).
CREATE TABLE endpoints (
  endpoint          text PRIMARY KEY,
  model             text NOT NULL,
  primary_version   bigint NOT NULL,
  previous_version  bigint NOT NULL DEFAULT 0,
  rollout_id        text,
  updated_at_micros bigint NOT NULL
);

CREATE TABLE rollouts (
  rollout_id             text PRIMARY KEY,
  endpoint               text NOT NULL,
  model                  text NOT NULL,
  origin                 integer NOT NULL,
  spec                   bytea NOT NULL,
  primary_version        bigint NOT NULL,
  candidate_version      bigint NOT NULL,
  state                  integer NOT NULL,
  step                   integer NOT NULL,
  started_at_micros      bigint NOT NULL,
  step_started_at_micros bigint NOT NULL,
  finished_at_micros     bigint NOT NULL,
  started_by             text NOT NULL,
  rollback_reason        text NOT NULL
);
CREATE INDEX rollouts_endpoint ON rollouts (endpoint, started_at_micros);
