-- One row per SCHEDULE tick (trigger, due time) that a replica claimed:
-- several training replicas run the scheduler on one database, and only the
-- one whose insert made the row fires the tick. A claim left unfinished
-- (the replica died before firing) may be taken over after a while; the
-- fire's idempotency key still keeps a second fire from starting a second
-- job. Times are the database's clock (micros since the epoch).
CREATE TABLE trigger_tick (
  trigger_name text NOT NULL REFERENCES pipeline_trigger (name),
  due_at_micros bigint NOT NULL,
  owner text NOT NULL,
  claimed_at_micros bigint NOT NULL,
  done boolean NOT NULL DEFAULT false,
  PRIMARY KEY (trigger_name, due_at_micros)
);
