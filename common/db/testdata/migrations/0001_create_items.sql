-- Test migration: a table with a few constraints the pool tests use.
CREATE TABLE items (
  id bigint PRIMARY KEY,
  name text NOT NULL UNIQUE,
  qty integer NOT NULL CHECK (qty >= 0)
);
