-- ListRuns' param and tag filters read (key, value) -> run_id: with run_id in
-- the index they are index-only scans.
CREATE INDEX run_param_by_key_value_run ON run_param (key, value, run_id);
DROP INDEX run_param_by_key_value;
CREATE INDEX run_tag_by_key_value_run ON run_tag (key, value, run_id);
DROP INDEX run_tag_by_key_value;
