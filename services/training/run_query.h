#pragma once
// Builds ListRuns' SQL from fixed fragments with $n parameters (values are
// never put into the SQL text). Pure; no pqxx.
//
// With an order metric, runs are listed in two phases: phase 0 walks the
// runs that have the metric through run_latest_metric's (key, value,
// run_id) index, keyed by (value, run_id); phase 1 lists the runs without
// it, keyed by (start time, run id). Without one, only phase 1 (no
// "without the metric" condition) runs.

#include <optional>
#include <string>
#include <vector>

#include "services/training/tracking_store.h"

namespace mlops::training {

struct RunQuery {
  std::string sql;                  // selects run_id, order value, start_time_micros
  std::vector<std::string> params;  // text values for $1..$n
};

// `after` applies only when after->phase == phase.
RunQuery BuildRunListQuery(const RunFilter& filter, const std::optional<RunCursor>& after,
                           int phase, int limit);

// Whether phase 1 (runs without the order metric) can match at all: not
// when a metric filter names the order metric (runs without a metric never
// match a filter on it), which saves a scan of every run.
bool NeedsPhaseWithoutMetric(const RunFilter& filter);

// Shortest text that parses back to the same double.
std::string DoubleText(double value);

}  // namespace mlops::training
