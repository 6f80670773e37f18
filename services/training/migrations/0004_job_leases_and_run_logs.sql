-- Job leases, so several training replicas can share one database: a
-- replica claims a QUEUED or RUNNING job whose lease is free or expired
-- (FOR UPDATE SKIP LOCKED), renews the lease while it runs the job, and
-- writes the job only while it still holds the lease. Times are the
-- database's clock (micros since the epoch), so replicas need not agree on
-- theirs. lease_expires_at_micros NULL = free (never claimed, or released
-- by a draining replica); lease_owner stays set after a release (the last
-- holder).
ALTER TABLE training_job
  ADD COLUMN lease_owner text,
  ADD COLUMN lease_expires_at_micros bigint,
  ADD COLUMN lease_attempts integer NOT NULL DEFAULT 0;
CREATE INDEX training_job_claimable ON training_job (created_at_micros, job_id)
  WHERE state IN (1, 2);

-- The job's history of claims: who ran it, and why the previous holder
-- stopped (its lease expired, or it released it when draining).
CREATE TABLE training_job_claim (
  job_id text NOT NULL REFERENCES training_job (job_id),
  attempt integer NOT NULL,
  owner text NOT NULL,
  claimed_at_micros bigint NOT NULL,
  previous_owner text NOT NULL DEFAULT '',
  note text NOT NULL,
  PRIMARY KEY (job_id, attempt)
);

-- Output lines of command trainers (stdout / stderr) and service messages
-- about a run, written while the program runs, read by WatchRun on any
-- replica. id orders the lines of a run.
CREATE TABLE run_log_line (
  id bigserial PRIMARY KEY,
  run_id text NOT NULL REFERENCES run (run_id),
  stream text NOT NULL,
  text text NOT NULL,
  at_micros bigint NOT NULL
);
CREATE INDEX run_log_line_by_run ON run_log_line (run_id, id);
