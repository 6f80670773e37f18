// PgRegistryStore: AddEvaluation and ListTransitions (see pg_registry_store.h).
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/registry/pg_registry_internal.h"
#include "services/registry/pg_registry_store.h"

namespace mlops::registry {
namespace {

using Txn = pqxx::transaction_base;

constexpr char kLockVersion[] =
    "SELECT version FROM versions WHERE model = $1 AND version = $2 FOR UPDATE";
constexpr char kSameEvaluation[] =
    "SELECT 1 FROM evaluations WHERE model = $1 AND version = $2 AND name = $3 "
    "AND dataset_version = $4";
constexpr char kNextOrdinal[] =
    "SELECT coalesce(max(ordinal) + 1, 0) FROM evaluations WHERE model = $1 AND version = $2";
constexpr char kInsertEvaluation[] =
    "INSERT INTO evaluations (model, version, ordinal, name, dataset_version, "
    "recorded_at_micros) VALUES ($1, $2, $3, $4, $5, $6)";
constexpr char kInsertMetric[] =
    "INSERT INTO evaluation_metrics (model, version, ordinal, metric, value) "
    "VALUES ($1, $2, $3, $4, $5)";
constexpr char kListTransitions[] =
    "SELECT id FROM transitions "
    "WHERE ($1 = '' OR model = $1) AND ($2::bigint = 0 OR version = $2::bigint) "
    "AND (cardinality($3::smallint[]) = 0 OR status = ANY($3::smallint[])) "
    "AND ($4::int = 0 OR target_stage = $4::int) "
    "AND ($5::bigint = 0 OR requested_at_micros >= $5::bigint) "
    "AND ($6::bigint = 0 OR requested_at_micros < $6::bigint) "
    "AND ($8 = '' OR (requested_at_micros, id) < ($7::bigint, $8)) "
    "ORDER BY requested_at_micros DESC, id DESC LIMIT $9";

}  // namespace

absl::StatusOr<VersionRecord> PgRegistryStore::AddEvaluation(const std::string& model,
                                                             int64_t version,
                                                             const EvaluationRecord& e,
                                                             AuditEntry audit) {
  return pool_->WithTransaction(
      PgCallOptions{"registry_add_evaluation"}, [&](Txn& txn) -> absl::StatusOr<VersionRecord> {
        if (txn.exec_params(kLockVersion, model, version).empty()) {
          return pg_registry::LoadVersion(txn, model, version);  // the NotFound
        }
        if (!txn.exec_params(kSameEvaluation, model, version, e.name, e.dataset_version).empty()) {
          return absl::AlreadyExistsError(absl::StrCat(
              "model \"", model, "\" version ", version, " already has an evaluation \"", e.name,
              "\" on dataset ", e.dataset_version));
        }
        const int ordinal = txn.exec_params(kNextOrdinal, model, version)[0][0].as<int>();
        txn.exec_params(kInsertEvaluation, model, version, ordinal, e.name, e.dataset_version,
                        e.recorded_at_micros);
        for (const auto& [metric, value] : e.metrics) {
          txn.exec_params(kInsertMetric, model, version, ordinal, metric, value);
        }
        pg_registry::AppendAudit(txn, audit);
        return pg_registry::LoadVersion(txn, model, version);
      });
}

absl::StatusOr<std::vector<TransitionRecord>> PgRegistryStore::ListTransitions(
    const TransitionFilter& f) {
  PgCallOptions call{"registry_list_transitions"};
  call.read_only = true;
  return pool_->WithTransaction(
      call, [&](Txn& txn) -> absl::StatusOr<std::vector<TransitionRecord>> {
        std::string statuses = "{";
        for (size_t i = 0; i < f.statuses.size(); ++i) {
          absl::StrAppend(&statuses, i > 0 ? "," : "", static_cast<int>(f.statuses[i]));
        }
        statuses += "}";
        const int target = f.target.has_value() ? static_cast<int>(*f.target) : 0;
        std::vector<TransitionRecord> out;
        for (const pqxx::row& r :
             txn.exec_params(kListTransitions, f.model, f.version, statuses, target,
                             f.start_micros, f.end_micros, f.before_micros, f.before_id,
                             f.limit)) {
          MLOPS_ASSIGN_OR_RETURN(TransitionRecord t,
                                 pg_registry::LoadTransition(txn, r[0].as<std::string>()));
          out.push_back(std::move(t));
        }
        return out;
      });
}

}  // namespace mlops::registry
