// PgRegistryStore::ListVersions: filters, version and metric orders, keyset
// paging.
//
// The filter is written into the SQL as quoted literals, one plain condition
// per tag and per metric: the planner then estimates each one from the
// tables' statistics and walks an index in the requested order. (With array
// parameters and generic "matches every element" forms it misjudged
// selectivity, sorted whole models and took 100+ ms per page at 100k
// versions.) Only the page's position and size are parameters.
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/status/status_macros.h"
#include "services/registry/pg_registry_internal.h"
#include "services/registry/pg_registry_store.h"

namespace mlops::registry {
namespace {

using pg_registry::kVersionColumns;
using pg_registry::LoadDetails;
using pg_registry::LoadModel;
using pg_registry::VersionFromRow;

// Exact text of a double (round-trips).
std::string Float(double x) { return absl::StrFormat("%.17g::float8", x); }

const char* Operator(Comparison c) {
  switch (c) {
    case Comparison::kGreaterOrEqual: return ">=";
    case Comparison::kLessOrEqual: return "<=";
    case Comparison::kGreater: return ">";
    case Comparison::kLess: return "<";
  }
  return ">=";
}

std::string EvalName(const std::string& name) { return name.empty() ? "test" : name; }

// "WHERE ..." for everything in `f` but the order and the page.
std::string WhereSql(pqxx::transaction_base& txn, const VersionFilter& f) {
  std::vector<std::string> c = {"TRUE"};
  if (!f.model.empty()) c.push_back("v.model = " + txn.quote(f.model));
  if (!f.stages.empty()) {
    std::vector<std::string> stages;
    for (Stage s : f.stages) stages.push_back(absl::StrCat(static_cast<int>(s)));
    c.push_back(absl::StrCat("v.stage IN (", absl::StrJoin(stages, ", "), ")"));
  }
  if (!f.run_id.empty()) c.push_back("v.run_id = " + txn.quote(f.run_id));
  if (!f.training_dataset_version.empty()) {
    c.push_back("v.training_dataset_version = " + txn.quote(f.training_dataset_version));
  }
  if (f.created_from_micros != 0) {
    c.push_back(absl::StrCat("v.created_at_micros >= ", f.created_from_micros));
  }
  if (f.created_to_micros != 0) {
    c.push_back(absl::StrCat("v.created_at_micros < ", f.created_to_micros));
  }
  for (const auto& [key, value] : f.tags) {
    c.push_back(absl::StrCat(
        "EXISTS (SELECT 1 FROM version_tags t WHERE t.model = v.model AND t.version = "
        "v.version AND t.key = ",
        txn.quote(key), " AND t.value = ", txn.quote(value), ")"));
  }
  // Metric values come from latest_metrics (the rule of MetricCondition,
  // kept by a trigger).
  for (const MetricCondition& m : f.metrics) {
    c.push_back(absl::StrCat(
        "EXISTS (SELECT 1 FROM latest_metrics l WHERE l.model = v.model AND l.version = "
        "v.version AND l.evaluation_name = ",
        txn.quote(EvalName(m.evaluation_name)), " AND l.metric = ", txn.quote(m.metric),
        " AND l.value ", Operator(m.comparison), " ", Float(m.value), ")"));
  }
  return absl::StrCat("WHERE ", absl::StrJoin(c, " AND "), " ");
}

// Version orders. $1 after model, $2 after version, $3 limit.
constexpr char kByVersionAsc[] =
    "AND (v.model, v.version) > ($1, $2::bigint) ORDER BY v.model, v.version LIMIT $3";
constexpr char kByVersionDesc[] =
    "AND ($1 = '' OR (v.model, v.version) < ($1, $2::bigint)) "
    "ORDER BY v.model DESC, v.version DESC LIMIT $3";

// Metric orders, versions having the metric (joined as `om`). $1 whether a
// previous page ended among them, $2 its value, $3 model, $4 version,
// $5 limit. Ties go in the metric's direction.
std::string HavingMetricSql(pqxx::transaction_base& txn, const VersionFilter& f,
                            bool descending) {
  const char* dir = descending ? " DESC" : "";
  std::string sql = absl::StrCat(
      "JOIN latest_metrics om ON om.model = v.model AND om.version = v.version "
      "AND om.evaluation_name = ",
      txn.quote(EvalName(f.order_evaluation_name)), " AND om.metric = ",
      txn.quote(f.order_metric), " ", WhereSql(txn, f));
  if (!f.model.empty()) absl::StrAppend(&sql, "AND om.model = ", txn.quote(f.model), " ");
  absl::StrAppend(&sql, "AND (NOT $1::bool OR (om.value, om.model, om.version) ",
                  descending ? "<" : ">", " ($2::float8, $3, $4::bigint)) ORDER BY om.value",
                  dir, ", om.model", dir, ", om.version", dir, " LIMIT $5");
  return sql;
}

// Metric orders, versions lacking the metric (after those having it). $1
// whether a previous page ended among them, $2 model, $3 version, $4 limit.
std::string LackingMetricSql(pqxx::transaction_base& txn, const VersionFilter& f,
                             bool descending) {
  const char* dir = descending ? " DESC" : "";
  return absl::StrCat(
      WhereSql(txn, f),
      "AND NOT EXISTS (SELECT 1 FROM latest_metrics l WHERE l.model = v.model "
      "AND l.version = v.version AND l.evaluation_name = ",
      txn.quote(EvalName(f.order_evaluation_name)), " AND l.metric = ",
      txn.quote(f.order_metric), ") AND (NOT $1::bool OR (v.model, v.version) ",
      descending ? "<" : ">", " ($2, $3::bigint)) ORDER BY v.model", dir, ", v.version", dir,
      " LIMIT $4");
}

}  // namespace

absl::StatusOr<std::vector<VersionRecord>> PgRegistryStore::ListVersions(const VersionFilter& f) {
  PgCallOptions call{"registry_list_versions"};
  call.read_only = true;
  return pool_->WithTransaction(
      call, [&](pqxx::transaction_base& txn) -> absl::StatusOr<std::vector<VersionRecord>> {
        if (!f.model.empty()) MLOPS_RETURN_IF_ERROR(LoadModel(txn, f.model).status());
        std::vector<pqxx::row> rows;
        auto take = [&](const pqxx::result& r) { rows.insert(rows.end(), r.begin(), r.end()); };
        const bool desc =
            f.order != VersionOrder::kVersionAsc && f.order != VersionOrder::kMetricAsc;
        const bool after = !f.after_model.empty();
        switch (f.order) {
          case VersionOrder::kVersionAsc:
          case VersionOrder::kVersionDesc:
            take(txn.exec_params(absl::StrCat(kVersionColumns, WhereSql(txn, f),
                                              desc ? kByVersionDesc : kByVersionAsc),
                                 f.after_model, f.after_version, f.limit));
            break;
          case VersionOrder::kMetricAsc:
          case VersionOrder::kMetricDesc: {
            // Versions having the metric first, then those lacking it.
            const bool among_lacking = after && !f.after_metric.has_value();
            if (!among_lacking) {
              take(txn.exec_params(absl::StrCat(kVersionColumns, HavingMetricSql(txn, f, desc)),
                                   after, absl::StrFormat("%.17g", f.after_metric.value_or(0)),
                                   f.after_model, f.after_version, f.limit));
            }
            if (static_cast<int>(rows.size()) < f.limit) {
              take(txn.exec_params(absl::StrCat(kVersionColumns, LackingMetricSql(txn, f, desc)),
                                   among_lacking, f.after_model, f.after_version,
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
