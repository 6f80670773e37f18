#include "services/training/run_query.h"

#include <charconv>

#include "absl/strings/str_cat.h"

namespace mlops::training {
namespace {

// Adds a parameter and returns its placeholder "$n".
std::string Param(RunQuery& q, std::string value) {
  q.params.push_back(std::move(value));
  return absl::StrCat("$", q.params.size());
}

const char* ComparisonSql(Comparison op) {
  switch (op) {
    case Comparison::kGreater: return ">";
    case Comparison::kGreaterOrEqual: return ">=";
    case Comparison::kLess: return "<";
    case Comparison::kLessOrEqual: return "<=";
    case Comparison::kEqual:
    case Comparison::kUnspecified: break;
  }
  return "=";
}

}  // namespace

std::string DoubleText(double value) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), value);
  return std::string(buf, res.ptr);
}

bool NeedsPhaseWithoutMetric(const RunFilter& filter) {
  for (const MetricFilter& m : filter.metrics) {
    if (m.key == filter.order_metric) return false;
  }
  return true;
}

RunQuery BuildRunListQuery(const RunFilter& f, const std::optional<RunCursor>& after, int phase,
                           int limit) {
  RunQuery q;
  const bool by_metric = !f.order_metric.empty();
  const char* dir = f.ascending ? "ASC" : "DESC";
  const char* cmp = f.ascending ? ">" : "<";
  std::string where;
  if (by_metric && phase == 0) {
    q.sql = "SELECT r.run_id, o.value, r.start_time_micros FROM run_latest_metric o "
            "JOIN run r ON r.run_id = o.run_id";
    absl::StrAppend(&where, " WHERE o.key = ", Param(q, f.order_metric));
    if (after && after->phase == 0) {
      absl::StrAppend(&where, " AND (o.value, o.run_id) ", cmp, " (",
                      Param(q, DoubleText(after->value)), "::float8, ", Param(q, after->run_id),
                      ")");
    }
  } else {
    q.sql = "SELECT r.run_id, 0::float8, r.start_time_micros FROM run r";
    where = " WHERE true";
    if (by_metric) {
      absl::StrAppend(&where,
                      " AND NOT EXISTS (SELECT 1 FROM run_latest_metric o WHERE o.run_id = "
                      "r.run_id AND o.key = ",
                      Param(q, f.order_metric), ")");
    }
    if (after && after->phase == 1) {
      absl::StrAppend(&where, " AND (r.start_time_micros, r.run_id) ", cmp, " (",
                      Param(q, absl::StrCat(after->start_time_micros)), "::int8, ",
                      Param(q, after->run_id), ")");
    }
  }
  if (!f.experiments.empty()) {
    std::vector<std::string> names = f.experiments;
    std::string arr = "{";
    for (size_t i = 0; i < names.size(); ++i) {
      absl::StrAppend(&arr, i ? "," : "", "\"", names[i], "\"");  // names are [a-z0-9_]
    }
    arr += "}";
    absl::StrAppend(&where, " AND r.experiment = ANY(", Param(q, arr), "::text[])");
  }
  if (!f.statuses.empty()) {
    std::string arr = "{";
    for (size_t i = 0; i < f.statuses.size(); ++i) {
      absl::StrAppend(&arr, i ? "," : "", static_cast<int>(f.statuses[i]));
    }
    arr += "}";
    absl::StrAppend(&where, " AND r.status = ANY(", Param(q, arr), "::int2[])");
  }
  for (const auto& [k, v] : f.params) {
    absl::StrAppend(&where,
                    " AND EXISTS (SELECT 1 FROM run_param p WHERE p.run_id = r.run_id AND p.key = ",
                    Param(q, k), " AND p.value = ", Param(q, v), ")");
  }
  for (const auto& [k, v] : f.tags) {
    absl::StrAppend(&where,
                    " AND EXISTS (SELECT 1 FROM run_tag t WHERE t.run_id = r.run_id AND t.key = ",
                    Param(q, k));
    if (!v.empty()) absl::StrAppend(&where, " AND t.value = ", Param(q, v));
    where += ")";
  }
  for (const MetricFilter& m : f.metrics) {
    if (by_metric && phase == 0 && m.key == f.order_metric) {
      // On the ordered row itself: a range of the (key, value) index scan.
      absl::StrAppend(&where, " AND o.value ", ComparisonSql(m.op), " ",
                      Param(q, DoubleText(m.value)), "::float8");
      continue;
    }
    absl::StrAppend(&where,
                    " AND EXISTS (SELECT 1 FROM run_latest_metric m WHERE m.run_id = r.run_id AND "
                    "m.key = ",
                    Param(q, m.key), " AND m.value ", ComparisonSql(m.op), " ",
                    Param(q, DoubleText(m.value)), "::float8)");
  }
  if (!f.job_id.empty()) absl::StrAppend(&where, " AND r.job_id = ", Param(q, f.job_id));
  if (f.started_after_micros != 0) {
    absl::StrAppend(&where, " AND r.start_time_micros >= ",
                    Param(q, absl::StrCat(f.started_after_micros)), "::int8");
  }
  if (f.started_before_micros != 0) {
    absl::StrAppend(&where, " AND r.start_time_micros < ",
                    Param(q, absl::StrCat(f.started_before_micros)), "::int8");
  }
  q.sql += where;
  if (by_metric && phase == 0) {
    absl::StrAppend(&q.sql, " ORDER BY o.value ", dir, ", o.run_id ", dir);
  } else {
    absl::StrAppend(&q.sql, " ORDER BY r.start_time_micros ", dir, ", r.run_id ", dir);
  }
  absl::StrAppend(&q.sql, " LIMIT ", Param(q, absl::StrCat(limit)), "::int8");
  return q;
}

}  // namespace mlops::training
