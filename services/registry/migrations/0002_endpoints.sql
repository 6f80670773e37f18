-- Endpoints: a name clients call, bound to one model.
CREATE TABLE endpoints (
  endpoint TEXT PRIMARY KEY,
  model TEXT NOT NULL REFERENCES models(name),
  promotion_rollout BYTEA NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  updated_at_micros BIGINT NOT NULL,
  updated_by TEXT NOT NULL
);
CREATE INDEX endpoints_model ON endpoints (model, endpoint);
