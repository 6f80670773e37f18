-- prediction_requests gets the time each row was stored (search_path =
-- monitoring). Its default is volatile (clock_timestamp()), and a column
-- with a volatile default left out of COPY's column list makes PostgreSQL 15
-- insert the COPY's rows one by one instead of through its buffered
-- multi-insert, which for the writer's COPYs (one or a few messages, ~1,000
-- rows each) costs about twice as much: measured 0.51 s of server CPU for 200
-- COPYs of 1,000 narrow rows buffered, 0.23-0.28 s row by row (the buffered
-- path pays ~2 ms per COPY setting up its 1,000 slots; it wins only for
-- COPYs of far more rows). The rows already stored get the migration's time.
ALTER TABLE prediction_requests
  ADD COLUMN stored_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp();
