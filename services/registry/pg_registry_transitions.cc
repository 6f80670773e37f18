// PgRegistryStore: transitions (the stage change under the model lock),
// their gate reports and approvals, and aliases (see pg_registry_store.h).
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/registry/pg_registry_internal.h"
#include "services/registry/pg_registry_store.h"

namespace mlops::registry {
namespace {

using Txn = pqxx::transaction_base;
using pg_registry::AppendAudit;
using pg_registry::LoadModel;

constexpr int kTransitionGranted = 6;
constexpr char kLockModel[] =
    "SELECT latest_version, production_version, generation FROM models WHERE name = $1 "
    "FOR UPDATE";
constexpr char kLockTransition[] = "SELECT status FROM transitions WHERE id = $1 FOR UPDATE";
constexpr char kInsertTransition[] =
    "INSERT INTO transitions (id, model, version, from_stage, target_stage, reason, "
    "requested_by, requested_at_micros, status, report_passed, policy_version, "
    "evaluated_at_micros, resolved_at_micros, replaced_production_version, "
    "evaluated_generation, allow_empty_production, required_approvals, approval_role) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)";
constexpr char kUpdateTransition[] =
    "UPDATE transitions SET status = $2, report_passed = $3, policy_version = $4, "
    "evaluated_at_micros = $5, resolved_at_micros = $6, replaced_production_version = $7, "
    "evaluated_generation = $8 WHERE id = $1";
constexpr char kDeleteTransitionChecks[] = "DELETE FROM transition_checks WHERE request_id = $1";
constexpr char kInsertTransitionCheck[] =
    "INSERT INTO transition_checks (request_id, ordinal, name, kind, outcome, metric, measured, "
    "limit_value, comparison, candidate_value, champion_value, champion_version, message, "
    "details, duration_micros) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";
constexpr char kInsertApproval[] =
    "INSERT INTO approvals (request_id, principal, role, approved, comment, at_micros) "
    "VALUES ($1, $2, $3, $4, $5, $6)";
constexpr char kSelectTransition[] =
    "SELECT id, model, version, from_stage, target_stage, reason, requested_by, "
    "requested_at_micros, status, report_passed, policy_version, evaluated_at_micros, "
    "resolved_at_micros, replaced_production_version, evaluated_generation, "
    "allow_empty_production, required_approvals, approval_role FROM transitions WHERE id = $1";
constexpr char kSelectTransitionChecks[] =
    "SELECT name, kind, outcome, metric, measured, limit_value, comparison, candidate_value, "
    "champion_value, champion_version, message, details, duration_micros FROM transition_checks "
    "WHERE request_id = $1 "
    "ORDER BY ordinal";
constexpr char kSelectApprovals[] =
    "SELECT principal, role, approved, comment, at_micros FROM approvals WHERE request_id = $1 "
    "ORDER BY at_micros, principal";
constexpr char kSelectVersionStage[] =
    "SELECT stage FROM versions WHERE model = $1 AND version = $2";
constexpr char kSetVersionStage[] =
    "UPDATE versions SET stage = $3, stage_changed_at_micros = $4 "
    "WHERE model = $1 AND version = $2";
constexpr char kSetProduction[] =
    "UPDATE models SET production_version = $2, generation = generation + 1 WHERE name = $1";
constexpr char kUpsertAlias[] =
    "INSERT INTO aliases (model, name, version, updated_at_micros, updated_by) "
    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (model, name) DO UPDATE SET version = $3, "
    "updated_at_micros = $4, updated_by = $5";
constexpr char kDeleteAliasSql[] =
    "DELETE FROM aliases WHERE model = $1 AND name = $2 RETURNING version";
constexpr char kDeleteAliasesOfVersion[] =
    "DELETE FROM aliases WHERE model = $1 AND version = $2";

std::string StageJson(Stage s) { return absl::StrCat("{\"stage\":\"", StageName(s), "\"}"); }

}  // namespace

absl::StatusOr<TransitionRecord> pg_registry::LoadTransition(Txn& txn, const std::string& id) {
  pqxx::result r = txn.exec_params(kSelectTransition, id);
  if (r.empty()) return absl::NotFoundError(absl::StrCat("transition request ", id, " not found"));
  const pqxx::row& row = r[0];
  TransitionRecord t;
  t.id = row[0].as<std::string>();
  t.model = row[1].as<std::string>();
  t.version = row[2].as<int64_t>();
  t.from_stage = static_cast<Stage>(row[3].as<int>());
  t.target_stage = static_cast<Stage>(row[4].as<int>());
  t.reason = row[5].as<std::string>();
  t.requested_by = row[6].as<std::string>();
  t.requested_at_micros = row[7].as<int64_t>();
  t.status = static_cast<TransitionStatus>(row[8].as<int>());
  t.report.passed = row[9].as<bool>();
  t.report.policy_version = row[10].as<int64_t>();
  t.report.evaluated_at_micros = row[11].as<int64_t>();
  t.report.target_stage = t.target_stage;
  t.resolved_at_micros = row[12].as<int64_t>();
  t.replaced_production_version = row[13].as<int64_t>();
  t.evaluated_generation = row[14].as<int64_t>();
  t.allow_empty_production = row[15].as<bool>();
  t.required_approvals = row[16].as<int>();
  t.approval_role = static_cast<Role>(row[17].as<int>());
  for (const pqxx::row& c : txn.exec_params(kSelectTransitionChecks, id)) {
    CheckResult cr;
    cr.name = c[0].as<std::string>();
    cr.kind = static_cast<CheckKind>(c[1].as<int>());
    cr.outcome = static_cast<CheckOutcome>(c[2].as<int>());
    cr.metric = c[3].as<std::string>();
    cr.measured = c[4].as<double>();
    cr.limit = c[5].as<double>();
    cr.comparison = static_cast<Comparison>(c[6].as<int>());
    cr.candidate_value = c[7].as<double>();
    cr.champion_value = c[8].as<double>();
    cr.champion_version = c[9].as<int64_t>();
    cr.message = c[10].as<std::string>();
    MLOPS_RETURN_IF_ERROR(DecodeCheckDetails(c[11].as<std::string>(), &cr));
    cr.duration_micros = c[12].as<int64_t>();
    t.report.checks.push_back(std::move(cr));
  }
  for (const pqxx::row& a : txn.exec_params(kSelectApprovals, id)) {
    ApprovalRecord ar;
    ar.principal = a[0].as<std::string>();
    ar.role = a[1].as<std::string>();
    ar.approved = a[2].as<bool>();
    ar.comment = a[3].as<std::string>();
    ar.at_micros = a[4].as<int64_t>();
    t.approvals.push_back(std::move(ar));
  }
  return t;
}

namespace {

using pg_registry::LoadTransition;
using pg_registry::LoadVersion;

void WriteChecks(Txn& txn, const TransitionRecord& t) {
  txn.exec_params(kDeleteTransitionChecks, t.id);
  int ordinal = 0;
  for (const CheckResult& c : t.report.checks) {
    txn.exec_params(kInsertTransitionCheck, t.id, ordinal++, c.name, static_cast<int>(c.kind),
                    static_cast<int>(c.outcome), c.metric, c.measured, c.limit,
                    static_cast<int>(c.comparison), c.candidate_value, c.champion_value,
                    c.champion_version, c.message, EncodeCheckDetails(c), c.duration_micros);
  }
}

// Moves the stage of t's version under the model lock; archives the previous
// production version and moves `champion` on promotion. Returns the version
// replaced in production (0 if none).
absl::StatusOr<int64_t> ApplyStageChange(Txn& txn, const TransitionRecord& t,
                                         const AuditEntry& like) {
  pqxx::result m = txn.exec_params(kLockModel, t.model);
  if (m.empty()) return absl::NotFoundError(absl::StrCat("model \"", t.model, "\" not found"));
  if (m[0][2].as<int64_t>() != t.evaluated_generation) {
    return absl::AbortedError(absl::StrCat(
        "another transition of model \"", t.model,
        "\" committed while this one was evaluated; request again"));
  }
  pqxx::result cur = txn.exec_params(kSelectVersionStage, t.model, t.version);
  if (cur.empty() || static_cast<Stage>(cur[0][0].as<int>()) != t.from_stage) {
    return absl::AbortedError("the version's stage changed while the transition was evaluated");
  }
  const int64_t production = m[0][1].as<int64_t>();
  int64_t replaced = 0;
  int64_t new_production = production;
  const int64_t now = like.at_micros;
  if (t.target_stage == Stage::kProduction) {
    if (production != 0 && production != t.version) {
      replaced = production;
      txn.exec_params(kSetVersionStage, t.model, production, static_cast<int>(Stage::kArchived),
                      now);
      txn.exec_params(kDeleteAliasesOfVersion, t.model, production);
      AuditEntry e = like;
      e.event_type = kTransitionGranted;
      e.version = production;
      e.before_json = StageJson(Stage::kProduction);
      e.after_json = StageJson(Stage::kArchived);
      e.details_json = absl::StrCat("{\"replaced_by\":", t.version, "}");
      AppendAudit(txn, e);
    }
    new_production = t.version;
    if (replaced != 0) {
      pg_registry::StartPromotionRollouts(txn, t.model, replaced, t.version, t.id, like);
    }
  } else if (t.from_stage == Stage::kProduction) {
    new_production = 0;
  }
  txn.exec_params(kSetVersionStage, t.model, t.version, static_cast<int>(t.target_stage), now);
  if (t.target_stage == Stage::kArchived) {
    txn.exec_params(kDeleteAliasesOfVersion, t.model, t.version);
  }
  if (t.target_stage == Stage::kProduction) {
    txn.exec_params(kUpsertAlias, t.model, "champion", t.version, now, like.principal);
  }
  txn.exec_params(kSetProduction, t.model, new_production);
  return replaced;
}

}  // namespace

absl::StatusOr<TransitionRecord> PgRegistryStore::CommitTransition(const TransitionCommit& c) {
  PgCallOptions call{"registry_commit_transition"};
  call.max_attempts = 1;  // Aborted must reach the caller: the gate ran on a stale state
  absl::StatusOr<TransitionRecord> out = pool_->WithTransaction(
      call, [&](Txn& txn) -> absl::StatusOr<TransitionRecord> {
        TransitionRecord t = c.request;
        const AuditEntry like = c.audit.empty() ? AuditEntry{} : c.audit.front();
        if (!c.insert) {
          pqxx::result s = txn.exec_params(kLockTransition, t.id);
          if (s.empty()) return absl::NotFoundError(absl::StrCat("transition ", t.id, " not found"));
          if (s[0][0].as<int>() != static_cast<int>(TransitionStatus::kPendingApproval)) {
            return absl::FailedPreconditionError(
                absl::StrCat("transition ", t.id, " is not PENDING_APPROVAL"));
          }
        }
        if (c.apply) {
          MLOPS_ASSIGN_OR_RETURN(t.replaced_production_version, ApplyStageChange(txn, t, like));
        }
        if (c.insert) {
          txn.exec_params(kInsertTransition, t.id, t.model, t.version,
                          static_cast<int>(t.from_stage), static_cast<int>(t.target_stage),
                          t.reason, t.requested_by, t.requested_at_micros,
                          static_cast<int>(t.status), t.report.passed, t.report.policy_version,
                          t.report.evaluated_at_micros, t.resolved_at_micros,
                          t.replaced_production_version, t.evaluated_generation,
                          t.allow_empty_production, t.required_approvals,
                          static_cast<int>(t.approval_role));
        } else {
          txn.exec_params(kUpdateTransition, t.id, static_cast<int>(t.status), t.report.passed,
                          t.report.policy_version, t.report.evaluated_at_micros,
                          t.resolved_at_micros, t.replaced_production_version,
                          t.evaluated_generation);
        }
        WriteChecks(txn, t);
        if (c.new_approval.has_value()) {
          const ApprovalRecord& a = *c.new_approval;
          txn.exec_params(kInsertApproval, t.id, a.principal, a.role, a.approved, a.comment,
                          a.at_micros);
        }
        for (const AuditEntry& e : c.audit) AppendAudit(txn, e);
        return LoadTransition(txn, t.id);
      });
  if (absl::IsAlreadyExists(out.status()) && c.insert) {
    return absl::AlreadyExistsError(absl::StrCat(
        "a PENDING_APPROVAL request for model \"", c.request.model, "\" version ",
        c.request.version, " to ", StageName(c.request.target_stage), " exists"));
  }
  return out;
}

absl::StatusOr<TransitionRecord> PgRegistryStore::GetTransition(const std::string& id) {
  PgCallOptions call{"registry_get_transition"};
  call.read_only = true;
  return pool_->WithTransaction(call, [&](Txn& txn) { return LoadTransition(txn, id); });
}

absl::StatusOr<AliasRecord> PgRegistryStore::SetAlias(const AliasRecord& a, AuditEntry audit) {
  return pool_->WithTransaction(
      PgCallOptions{"registry_set_alias"}, [&](Txn& txn) -> absl::StatusOr<AliasRecord> {
        if (txn.exec_params(kLockModel, a.model).empty()) {
          return absl::NotFoundError(absl::StrCat("model \"", a.model, "\" not found"));
        }
        pqxx::result s = txn.exec_params(kSelectVersionStage, a.model, a.version);
        if (s.empty()) {
          return absl::NotFoundError(
              absl::StrCat("model \"", a.model, "\" version ", a.version, " not found"));
        }
        const Stage stage = static_cast<Stage>(s[0][0].as<int>());
        if (stage == Stage::kArchived) {
          return absl::FailedPreconditionError(
              absl::StrCat("version ", a.version, " is archived: no alias may point at it"));
        }
        if (a.name == "champion" && stage != Stage::kProduction) {
          return absl::FailedPreconditionError(absl::StrCat(
              "alias champion may only point at the production version; version ", a.version,
              " is ", StageName(stage)));
        }
        txn.exec_params(kUpsertAlias, a.model, a.name, a.version, a.updated_at_micros,
                        a.updated_by);
        AppendAudit(txn, audit);
        return a;
      });
}

absl::StatusOr<int64_t> PgRegistryStore::DeleteAlias(const std::string& model,
                                                     const std::string& alias, AuditEntry audit) {
  return pool_->WithTransaction(
      PgCallOptions{"registry_delete_alias"}, [&](Txn& txn) -> absl::StatusOr<int64_t> {
        MLOPS_RETURN_IF_ERROR(LoadModel(txn, model).status());
        pqxx::result r = txn.exec_params(kDeleteAliasSql, model, alias);
        if (r.empty()) {
          return absl::NotFoundError(
              absl::StrCat("model \"", model, "\" has no alias \"", alias, "\""));
        }
        audit.version = r[0][0].as<int64_t>();
        AppendAudit(txn, audit);
        return audit.version;
      });
}


}  // namespace mlops::registry
