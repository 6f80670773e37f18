// PgRegistryStore: gate policies (see pg_registry_store.h).
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/registry/pg_registry_internal.h"
#include "services/registry/pg_registry_store.h"

namespace mlops::registry {
namespace {

using Txn = pqxx::transaction_base;
using pg_registry::AppendAudit;
using pg_registry::Bytes;
using pg_registry::LoadModel;

constexpr char kUpsertPolicy[] =
    "INSERT INTO gate_policies AS p (model, policy_version, require_staging, staging_approvals, "
    "staging_approval_role, production_approvals, production_approval_role, updated_at_micros, "
    "updated_by, staging_model_tests, production_model_tests) "
    "VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
    "ON CONFLICT (model) DO UPDATE SET policy_version = p.policy_version + 1, "
    "require_staging = $2, staging_approvals = $3, staging_approval_role = $4, "
    "production_approvals = $5, production_approval_role = $6, updated_at_micros = $7, "
    "updated_by = $8, staging_model_tests = $9, production_model_tests = $10 "
    "RETURNING policy_version";
constexpr char kDeleteChecks[] = "DELETE FROM gate_checks WHERE model = $1";
constexpr char kInsertCheck[] =
    "INSERT INTO gate_checks (model, stage, ordinal, kind, name, metric, comparison, value, "
    "evaluation_name, direction, relative, fail_if_no_champion, champion_alias) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
constexpr char kSelectPolicy[] =
    "SELECT policy_version, require_staging, staging_approvals, staging_approval_role, "
    "production_approvals, production_approval_role, updated_at_micros, updated_by, "
    "staging_model_tests, production_model_tests FROM gate_policies WHERE model = $1";
constexpr char kSelectChecks[] =
    "SELECT stage, kind, name, metric, comparison, value, evaluation_name, direction, "
    "relative, fail_if_no_champion, champion_alias FROM gate_checks WHERE model = $1 ORDER BY stage, ordinal";

}  // namespace

absl::StatusOr<GatePolicy> PgRegistryStore::SetGatePolicy(const GatePolicy& p, AuditEntry audit) {
  return pool_->WithTransaction(
      PgCallOptions{"registry_set_gate_policy"}, [&](Txn& txn) -> absl::StatusOr<GatePolicy> {
        MLOPS_RETURN_IF_ERROR(LoadModel(txn, p.model).status());
        GatePolicy out = p;
        out.policy_version =
            txn.exec_params(kUpsertPolicy, p.model, p.require_staging_before_production,
                            p.staging.approvals.count, static_cast<int>(p.staging.approvals.role),
                            p.production.approvals.count,
                            static_cast<int>(p.production.approvals.role), p.updated_at_micros,
                            p.updated_by, pqxx::binarystring(p.staging.model_tests.data(), p.staging.model_tests.size()),
                            pqxx::binarystring(p.production.model_tests.data(),
                                               p.production.model_tests.size()))[0][0]
                .as<int64_t>();
        txn.exec_params(kDeleteChecks, p.model);
        for (Stage stage : {Stage::kStaging, Stage::kProduction}) {
          const StageGate& g = *GateFor(p, stage);
          int ordinal = 0;
          for (const ThresholdCheck& t : g.thresholds) {
            txn.exec_params(kInsertCheck, p.model, static_cast<int>(stage), ordinal++,
                            static_cast<int>(CheckKind::kThreshold), t.name, t.metric,
                            static_cast<int>(t.comparison), t.value, t.evaluation_name, 0, false,
                            false, "");
          }
          for (const ChampionChallengerCheck& c : g.champion_challenger) {
            txn.exec_params(kInsertCheck, p.model, static_cast<int>(stage), ordinal++,
                            static_cast<int>(CheckKind::kChampionChallenger), c.name, c.metric, 0,
                            c.min_improvement, c.evaluation_name, static_cast<int>(c.direction),
                            c.relative, c.fail_if_no_champion, c.champion_alias);
          }
        }
        audit.after_json = absl::StrCat("{\"policy_version\":", out.policy_version, "}");
        AppendAudit(txn, audit);
        return out;
      });
}

absl::StatusOr<GatePolicy> PgRegistryStore::GetGatePolicy(const std::string& model) {
  PgCallOptions call{"registry_get_gate_policy"};
  call.read_only = true;
  return pool_->WithTransaction(call, [&](Txn& txn) -> absl::StatusOr<GatePolicy> {
    MLOPS_RETURN_IF_ERROR(LoadModel(txn, model).status());
    GatePolicy p;
    p.model = model;
    pqxx::result r = txn.exec_params(kSelectPolicy, model);
    if (r.empty()) return p;
    p.policy_version = r[0][0].as<int64_t>();
    p.require_staging_before_production = r[0][1].as<bool>();
    p.staging.approvals.count = r[0][2].as<int>();
    p.staging.approvals.role = static_cast<Role>(r[0][3].as<int>());
    p.production.approvals.count = r[0][4].as<int>();
    p.production.approvals.role = static_cast<Role>(r[0][5].as<int>());
    p.updated_at_micros = r[0][6].as<int64_t>();
    p.updated_by = r[0][7].as<std::string>();
    p.staging.model_tests = Bytes(r[0][8]);
    p.production.model_tests = Bytes(r[0][9]);
    for (const pqxx::row& c : txn.exec_params(kSelectChecks, model)) {
      StageGate& g = c[0].as<int>() == static_cast<int>(Stage::kStaging) ? p.staging
                                                                            : p.production;
      if (c[1].as<int>() == static_cast<int>(CheckKind::kThreshold)) {
        ThresholdCheck t;
        t.name = c[2].as<std::string>();
        t.metric = c[3].as<std::string>();
        t.comparison = static_cast<Comparison>(c[4].as<int>());
        t.value = c[5].as<double>();
        t.evaluation_name = c[6].as<std::string>();
        g.thresholds.push_back(std::move(t));
      } else {
        ChampionChallengerCheck cc;
        cc.name = c[2].as<std::string>();
        cc.metric = c[3].as<std::string>();
        cc.min_improvement = c[5].as<double>();
        cc.evaluation_name = c[6].as<std::string>();
        cc.direction = static_cast<Direction>(c[7].as<int>());
        cc.relative = c[8].as<bool>();
        cc.fail_if_no_champion = c[9].as<bool>();
        cc.champion_alias = c[10].as<std::string>();
        g.champion_challenger.push_back(std::move(cc));
      }
    }
    return p;
  });
}

}  // namespace mlops::registry
