-- Chunk rows are written once per version by COPY and read back whole.
-- pglz (the default TOAST compression) cost more CPU in the server than the
-- rest of an ingest's COPY; lz4 compresses several times faster. Servers
-- built without lz4 keep the rows uncompressed, out of line, instead.
-- Affects values written from now on; existing rows stay as they are.
DO $$
BEGIN
  ALTER TABLE chunks ALTER COLUMN rows SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
  ALTER TABLE chunks ALTER COLUMN rows SET STORAGE EXTERNAL;
END
$$;
