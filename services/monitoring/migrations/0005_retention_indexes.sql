-- Index for retention deletion (search_path = monitoring).

-- Labels older than a model's raw retention, found by (model, received at).
-- prediction_requests gets no index on batch_id: a deleted batch's request
-- rows are found through the request ids packed in its `meta` and the hash
-- index on request_id, so ingest pays nothing for retention (a btree on
-- batch_id cost ~24% of the prediction-log benchmark's rows/s: median
-- 199k -> 151k rows/s, 5 interleaved runs each at load ~2.5; a foreign key
-- with ON DELETE CASCADE would need that index too, plus a lookup of
-- prediction_batches' key per inserted row).
CREATE INDEX ground_truth_received ON ground_truth (model, received_at_micros);
