-- Delayed ground truth and alerts (search_path = monitoring).

-- One label per (request id, model); model '' = joins every model's
-- prediction with that request id. label_kind: 1 INT64, 2 DOUBLE, 3 STRING,
-- 4 BOOL; label_number holds INT64 / DOUBLE / BOOL (0, 1), label_text the
-- STRING (and the decimal text of an INT64). A label whose prediction did not
-- arrive within the TTL is marked expired and no longer joins.
CREATE TABLE ground_truth (
  request_id TEXT NOT NULL,
  model TEXT NOT NULL,
  label_kind SMALLINT NOT NULL,
  label_number DOUBLE PRECISION NOT NULL,
  label_text TEXT NOT NULL,
  label_at_micros BIGINT NOT NULL,
  received_at_micros BIGINT NOT NULL,
  expired_at_micros BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (request_id, model)
);
CREATE INDEX ground_truth_expired ON ground_truth (model, expired_at_micros)
  WHERE expired_at_micros > 0;

-- Alerts: "alert-<number>"; `alert` is a serialized mlops.monitoring.v1.Alert,
-- the other columns are what ListAlerts filters on.
CREATE SEQUENCE alert_numbers START 1;
CREATE TABLE alerts (
  number BIGINT PRIMARY KEY,
  model TEXT NOT NULL,
  version BIGINT NOT NULL,
  policy TEXT NOT NULL,
  state INT NOT NULL,
  severity INT NOT NULL,
  pending_since_micros BIGINT NOT NULL,
  resolved_at_micros BIGINT NOT NULL,
  alert BYTEA NOT NULL
);
CREATE INDEX alerts_model ON alerts (model, number);
