-- The most recent value of each metric per (version, evaluation name), kept
-- by a trigger on evaluation_metrics: ListModelVersions filters and orders by
-- metrics through its indexes instead of scanning every evaluation.
CREATE TABLE latest_metrics (
  model TEXT NOT NULL,
  version BIGINT NOT NULL,
  evaluation_name TEXT NOT NULL,  -- '' is stored as 'test'
  metric TEXT NOT NULL,
  value DOUBLE PRECISION NOT NULL,
  recorded_at_micros BIGINT NOT NULL,
  ordinal INT NOT NULL,
  PRIMARY KEY (model, version, evaluation_name, metric),
  FOREIGN KEY (model, version) REFERENCES versions(model, version)
);
CREATE INDEX latest_metrics_rank ON latest_metrics (evaluation_name, metric, value, model, version);
CREATE INDEX latest_metrics_model_rank
  ON latest_metrics (evaluation_name, metric, model, value, version);

CREATE FUNCTION track_latest_metric() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
  eval_name TEXT;
  recorded BIGINT;
BEGIN
  SELECT COALESCE(NULLIF(name, ''), 'test'), recorded_at_micros INTO eval_name, recorded
    FROM evaluations WHERE model = NEW.model AND version = NEW.version AND ordinal = NEW.ordinal;
  INSERT INTO latest_metrics AS l
    VALUES (NEW.model, NEW.version, eval_name, NEW.metric, NEW.value, recorded, NEW.ordinal)
  ON CONFLICT (model, version, evaluation_name, metric) DO UPDATE
    SET value = EXCLUDED.value, recorded_at_micros = EXCLUDED.recorded_at_micros,
        ordinal = EXCLUDED.ordinal
    WHERE (EXCLUDED.recorded_at_micros, EXCLUDED.ordinal) >= (l.recorded_at_micros, l.ordinal);
  RETURN NULL;
END
$$;

CREATE TRIGGER evaluation_metrics_latest AFTER INSERT ON evaluation_metrics
  FOR EACH ROW EXECUTE FUNCTION track_latest_metric();

INSERT INTO latest_metrics
SELECT DISTINCT ON (e.model, e.version, COALESCE(NULLIF(e.name, ''), 'test'), m.metric)
       e.model, e.version, COALESCE(NULLIF(e.name, ''), 'test'), m.metric, m.value,
       e.recorded_at_micros, e.ordinal
  FROM evaluations e JOIN evaluation_metrics m USING (model, version, ordinal)
 ORDER BY e.model, e.version, COALESCE(NULLIF(e.name, ''), 'test'), m.metric,
          e.recorded_at_micros DESC, e.ordinal DESC;
