-- A champion/challenger check may name the alias whose version is the
-- champion ('' = the current PRODUCTION version).
ALTER TABLE gate_checks ADD COLUMN champion_alias TEXT NOT NULL DEFAULT '';
