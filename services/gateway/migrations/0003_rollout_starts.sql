-- One row per endpoint: the latest SetRollout's claim to start a rollout on
-- it, shared by every gateway replica. A claim is taken under this row's lock
-- (so two replicas starting at once are serialized), holds a token and time
-- while the rollout is forwarded to the registry, then the registry's
-- rollout id. An empty token is no claim (released).
CREATE TABLE rollout_starts (
  endpoint          text PRIMARY KEY,
  token             text NOT NULL DEFAULT '',
  claimed_at_micros bigint NOT NULL DEFAULT 0,
  rollout_id        text NOT NULL DEFAULT ''
);
