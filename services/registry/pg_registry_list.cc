// PgRegistryStore::ListVersions: filters, version and metric orders, keyset
// paging, in one query.
#include <tuple>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status/status_macros.h"
#include "services/registry/pg_registry_internal.h"
#include "services/registry/pg_registry_store.h"

namespace mlops::registry {
namespace {

// Exact text of a double (round-trips).
std::string Float(double x) { return absl::StrFormat("%.17g", x); }

using pg_registry::kVersionColumns;
using pg_registry::LoadDetails;
using pg_registry::LoadModel;
using pg_registry::NumArray;
using pg_registry::TextArray;
using pg_registry::VersionFromRow;

// $1..$12: model, stages, run, dataset, created from/to, tag keys/values,
// metric names, evaluation names, comparisons, limits. Metric values come from
// latest_metrics (the rule of MetricCondition, kept by a trigger).
constexpr char kWhere[] =
    "WHERE ($1 = '' OR v.model = $1) "
    "AND (cardinality($2::smallint[]) = 0 OR v.stage = ANY($2::smallint[])) "
    "AND ($3 = '' OR v.run_id = $3) "
    "AND ($4 = '' OR v.training_dataset_version = $4) "
    "AND ($5::bigint = 0 OR v.created_at_micros >= $5::bigint) "
    "AND ($6::bigint = 0 OR v.created_at_micros < $6::bigint) "
    // Counting matches (rather than NOT EXISTS ... NOT EXISTS) keeps the
    // lookups correlated, on the primary keys; the anti-join form made the
    // planner hash all of version_tags for every page.
    "AND (cardinality($7::text[]) = 0 OR (SELECT count(*) FROM unnest($7::text[], "
    "  $8::text[]) AS f(k, val) WHERE EXISTS (SELECT 1 FROM version_tags t "
    "  WHERE t.model = v.model AND t.version = v.version AND t.key = f.k "
    "  AND t.value = f.val)) = cardinality($7::text[])) "
    "AND (cardinality($9::text[]) = 0 OR (SELECT count(*) FROM unnest($9::text[], "
    "  $10::text[], $11::smallint[], $12::float8[]) AS mf(metric, eval, cmp, lim) "
    "  WHERE EXISTS (SELECT 1 FROM latest_metrics l WHERE l.model = v.model "
    "  AND l.version = v.version AND l.evaluation_name = mf.eval AND l.metric = mf.metric "
    "  AND CASE mf.cmp WHEN 1 THEN l.value >= mf.lim WHEN 2 THEN l.value <= mf.lim "
    "  WHEN 3 THEN l.value > mf.lim ELSE l.value < mf.lim END)) = cardinality($9::text[])) ";

// Version orders. $13 after model, $14 after version, $15 limit.
constexpr char kByVersionAsc[] =
    "AND (v.model, v.version) > ($13, $14::bigint) ORDER BY v.model, v.version LIMIT $15";
constexpr char kByVersionDesc[] =
    "AND ($13 = '' OR (v.model, v.version) < ($13, $14::bigint)) "
    "ORDER BY v.model DESC, v.version DESC LIMIT $15";

// Metric orders, versions having the metric. $13 metric, $14 evaluation,
// $15 whether a previous page ended here, $16 its value, $17 model,
// $18 version, $19 limit. Ties go in the metric's direction.
std::string HavingMetricSql(bool descending) {
  const char* dir = descending ? " DESC" : "";
  return absl::StrCat(
      "JOIN latest_metrics om ON om.model = v.model AND om.version = v.version "
      "AND om.evaluation_name = $14 AND om.metric = $13 ",
      kWhere, "AND ($1 = '' OR om.model = $1) AND (NOT $15::bool OR (om.value, om.model, "
      "om.version) ", descending ? "<" : ">", " ($16::float8, $17, $18::bigint)) ",
      "ORDER BY om.value", dir, ", om.model", dir, ", om.version", dir, " LIMIT $19");
}

// Metric orders, versions lacking the metric (after those having it). $13
// metric, $14 evaluation, $15 whether a previous page ended among them,
// $16 model, $17 version, $18 limit.
std::string LackingMetricSql(bool descending) {
  const char* dir = descending ? " DESC" : "";
  return absl::StrCat(
      kWhere, "AND NOT EXISTS (SELECT 1 FROM latest_metrics l WHERE l.model = v.model "
      "AND l.version = v.version AND l.evaluation_name = $14 AND l.metric = $13) "
      "AND (NOT $15::bool OR (v.model, v.version) ", descending ? "<" : ">",
      " ($16, $17::bigint)) ORDER BY v.model", dir, ", v.version", dir, " LIMIT $18");
}

std::string FloatArray(const std::vector<double>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) absl::StrAppend(&out, i > 0 ? "," : "", Float(items[i]));
  return out + "}";
}

}  // namespace

absl::StatusOr<std::vector<VersionRecord>> PgRegistryStore::ListVersions(const VersionFilter& f) {
  PgCallOptions call{"registry_list_versions"};
  call.read_only = true;
  return pool_->WithTransaction(
      call, [&](pqxx::transaction_base& txn) -> absl::StatusOr<std::vector<VersionRecord>> {
        if (!f.model.empty()) MLOPS_RETURN_IF_ERROR(LoadModel(txn, f.model).status());
        std::vector<int> stages, comparisons;
        for (Stage s : f.stages) stages.push_back(static_cast<int>(s));
        std::vector<std::string> keys, values, metrics, evals;
        for (const auto& [k, v] : f.tags) {
          keys.push_back(k);
          values.push_back(v);
        }
        std::vector<double> limits;
        for (const MetricCondition& m : f.metrics) {
          metrics.push_back(m.metric);
          evals.push_back(m.evaluation_name.empty() ? "test" : m.evaluation_name);
          comparisons.push_back(static_cast<int>(m.comparison));
          limits.push_back(m.value);
        }
        // The twelve parameters of kWhere, then those of the order.
        auto where = std::make_tuple(
            f.model, NumArray(stages), f.run_id, f.training_dataset_version,
            f.created_from_micros, f.created_to_micros, TextArray(keys), TextArray(values),
            TextArray(metrics), TextArray(evals), NumArray(comparisons), FloatArray(limits));
        auto query = [&](const std::string& tail, auto... order) {
          return std::apply(
              [&](const auto&... w) {
                return txn.exec_params(absl::StrCat(kVersionColumns, tail), w..., order...);
              },
              where);
        };
        std::vector<pqxx::row> rows;
        auto take = [&](const pqxx::result& r) { rows.insert(rows.end(), r.begin(), r.end()); };
        const bool desc = f.order != VersionOrder::kVersionAsc &&
                          f.order != VersionOrder::kMetricAsc;
        const std::string eval =
            f.order_evaluation_name.empty() ? "test" : f.order_evaluation_name;
        const bool after = !f.after_model.empty();
        switch (f.order) {
          case VersionOrder::kVersionAsc:
          case VersionOrder::kVersionDesc:
            take(query(absl::StrCat(kWhere, desc ? kByVersionDesc : kByVersionAsc),
                       f.after_model, f.after_version, f.limit));
            break;
          case VersionOrder::kMetricAsc:
          case VersionOrder::kMetricDesc: {
            // Versions having the metric first, then those lacking it.
            const bool among_lacking = after && !f.after_metric.has_value();
            if (!among_lacking) {
              take(query(HavingMetricSql(desc), f.order_metric, eval, after,
                         Float(f.after_metric.value_or(0)), f.after_model, f.after_version,
                         f.limit));
            }
            if (static_cast<int>(rows.size()) < f.limit) {
              take(query(LackingMetricSql(desc), f.order_metric, eval, among_lacking,
                         f.after_model, f.after_version,
                         f.limit - static_cast<int>(rows.size())));
            }
            break;
          }
        }
        std::vector<VersionRecord> out;
        for (const pqxx::row& r : rows) out.push_back(VersionFromRow(r));
        LoadDetails(txn, out);
        return out;
      });
}

}  // namespace mlops::registry
