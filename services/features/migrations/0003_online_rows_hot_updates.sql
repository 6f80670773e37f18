-- online_rows: an incremental run rewrites most of its rows in place.
-- Without the run_id index (only FULL runs delete by run_id, and they scan
-- the view version anyway) and with free space left in each page, those
-- updates can be HOT (no index entry per update): on this project's loaded
-- 2-core machine, upserting 73k of 110k rows took 5.5 s with the index and
-- full pages, 3.1 s without it at fillfactor 70 (67% HOT updates).
DROP INDEX online_rows_by_run;
ALTER TABLE online_rows SET (fillfactor = 70);
