-- Latency, bias and regression-set tests of a gate policy (serialized
-- mlops.registry.v1.StageGate holding only those lists; empty = none), and the
-- per-group values and mismatching rows of their results.
ALTER TABLE gate_policies
  ADD COLUMN staging_model_tests BYTEA NOT NULL DEFAULT '',
  ADD COLUMN production_model_tests BYTEA NOT NULL DEFAULT '';

ALTER TABLE transition_checks
  ADD COLUMN details TEXT NOT NULL DEFAULT '',
  ADD COLUMN duration_micros BIGINT NOT NULL DEFAULT 0;
