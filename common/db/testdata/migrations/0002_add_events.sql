-- Test migration: several statements in one file, one referring to the first.
CREATE TABLE events (
  item_id bigint NOT NULL REFERENCES items (id),
  at_micros bigint NOT NULL,
  note text
);
CREATE INDEX events_by_item ON events (item_id, at_micros);
