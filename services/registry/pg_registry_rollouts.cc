// PgRegistryStore: rollouts on endpoints and the gateways' reports about them
// (see registry_store.h and migration 0004).
#include <pqxx/pqxx>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status/status_macros.h"
#include "services/registry/pg_registry_internal.h"
#include "services/registry/pg_registry_store.h"
#include "services/registry/rollout_state.h"

namespace mlops::registry {
namespace {

using Txn = pqxx::transaction_base;
using pg_registry::AppendAudit;

constexpr int kTransitionGranted = 6;
constexpr char kRolloutColumns[] =
    "SELECT rollout_id, endpoint, model, origin, spec, primary_version, candidate_version, "
    "state, current_step, transition_request_id, started_by, started_at_micros, "
    "updated_at_micros, reason FROM rollouts WHERE rollout_id = $1";
constexpr char kEndpointsOfModel[] =
    "SELECT endpoint, promotion_rollout, current_rollout FROM endpoints WHERE model = $1 "
    "ORDER BY endpoint FOR UPDATE";
constexpr char kLockEndpoint[] =
    "SELECT model, current_rollout FROM endpoints WHERE endpoint = $1 FOR UPDATE";
constexpr char kSelectEndpointRollout[] = "SELECT current_rollout FROM endpoints WHERE endpoint = $1";
constexpr char kSupersede[] =
    "UPDATE rollouts SET state = 5, updated_at_micros = $2 WHERE rollout_id = $1 "
    "AND state IN (1, 2)";
constexpr char kInsertRollout[] =
    "INSERT INTO rollouts (rollout_id, endpoint, model, origin, spec, primary_version, "
    "candidate_version, state, current_step, transition_request_id, started_by, "
    "started_at_micros, updated_at_micros, reason) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
constexpr char kSetCurrentRollout[] = "UPDATE endpoints SET current_rollout = $2 WHERE endpoint = $1";
constexpr char kUpdateRollout[] =
    "UPDATE rollouts SET state = $2, current_step = $3, updated_at_micros = $4, reason = $5 "
    "WHERE rollout_id = $1";
constexpr char kSelectEvent[] =
    "SELECT audit_sequence FROM deployment_events WHERE rollout_id = $1 AND event_type = $2 "
    "AND step = $3";
constexpr char kInsertEvent[] =
    "INSERT INTO deployment_events (rollout_id, event_type, step, audit_sequence) "
    "VALUES ($1, $2, $3, $4)";
constexpr char kVersionStage[] = "SELECT stage FROM versions WHERE model = $1 AND version = $2";
constexpr char kLockModel[] =
    "SELECT production_version FROM models WHERE name = $1 FOR UPDATE";
constexpr char kSetVersionStage[] =
    "UPDATE versions SET stage = $3, stage_changed_at_micros = $4 WHERE model = $1 AND version = $2";
constexpr char kSetProduction[] =
    "UPDATE models SET production_version = $2, generation = generation + 1 WHERE name = $1";
constexpr char kDeleteAliasesOfVersion[] = "DELETE FROM aliases WHERE model = $1 AND version = $2";
constexpr char kUpsertChampion[] =
    "INSERT INTO aliases (model, name, version, updated_at_micros, updated_by) "
    "VALUES ($1, 'champion', $2, $3, $4) ON CONFLICT (model, name) DO UPDATE SET version = $2, "
    "updated_at_micros = $3, updated_by = $4";

std::string NewRolloutId() {
  absl::BitGen gen;
  return absl::StrFormat("ro-%016x", absl::Uniform<uint64_t>(gen));
}

std::string StageJson(Stage s) { return absl::StrCat("{\"stage\":\"", StageName(s), "\"}"); }

absl::StatusOr<RolloutRecord> LoadRollout(Txn& txn, const std::string& id) {
  pqxx::result r = txn.exec_params(kRolloutColumns, id);
  if (r.empty()) return absl::NotFoundError(absl::StrCat("rollout ", id, " not found"));
  const pqxx::row& row = r[0];
  RolloutRecord out;
  out.rollout_id = row[0].as<std::string>();
  out.endpoint = row[1].as<std::string>();
  out.model = row[2].as<std::string>();
  out.origin = static_cast<RolloutOrigin>(row[3].as<int>());
  out.spec = pqxx::binarystring(row[4]).str();
  out.primary_version = row[5].as<int64_t>();
  out.candidate_version = row[6].as<int64_t>();
  out.state = static_cast<RolloutState>(row[7].as<int>());
  out.current_step = row[8].as<int>();
  out.transition_request_id = row[9].as<std::string>();
  out.started_by = row[10].as<std::string>();
  out.started_at_micros = row[11].as<int64_t>();
  out.updated_at_micros = row[12].as<int64_t>();
  out.reason = row[13].as<std::string>();
  return out;
}

// The previous production version is PRODUCTION (and champion) again; the
// rolled-back candidate is ARCHIVED. Skipped when the model's production
// version is no longer the candidate (a later promotion won).
void RestoreStages(Txn& txn, const RolloutRecord& r, const AuditEntry& like) {
  pqxx::result m = txn.exec_params(kLockModel, r.model);
  if (m.empty() || m[0][0].as<int64_t>() != r.candidate_version) return;
  const int64_t now = like.at_micros;
  txn.exec_params(kSetVersionStage, r.model, r.candidate_version,
                  static_cast<int>(Stage::kArchived), now);
  txn.exec_params(kDeleteAliasesOfVersion, r.model, r.candidate_version);
  txn.exec_params(kSetVersionStage, r.model, r.primary_version,
                  static_cast<int>(Stage::kProduction), now);
  txn.exec_params(kSetProduction, r.model, r.primary_version);
  txn.exec_params(kUpsertChampion, r.model, r.primary_version, now, like.principal);
  for (const auto& [version, from, to] :
       {std::tuple{r.candidate_version, Stage::kProduction, Stage::kArchived},
        std::tuple{r.primary_version, Stage::kArchived, Stage::kProduction}}) {
    AuditEntry e = like;
    e.event_type = kTransitionGranted;
    e.version = version;
    e.before_json = StageJson(from);
    e.after_json = StageJson(to);
    e.details_json = absl::StrCat("{\"rollout_id\":\"", r.rollout_id, "\"}");
    AppendAudit(txn, e);
  }
}

}  // namespace

void pg_registry::StartPromotionRollouts(Txn& txn, const std::string& model, int64_t primary,
                                         int64_t candidate,
                                         const std::string& transition_request_id,
                                         const AuditEntry& like) {
  for (const pqxx::row& e : txn.exec_params(kEndpointsOfModel, model)) {
    const std::string spec = pqxx::binarystring(e[1]).str();
    if (spec.empty()) continue;  // no promotion spec: the new version serves at once
    const std::string endpoint = e[0].as<std::string>();
    const std::string current = e[2].as<std::string>();
    if (!current.empty()) txn.exec_params(kSupersede, current, like.at_micros);
    const std::string id = NewRolloutId();
    txn.exec_params(kInsertRollout, id, endpoint, model,
                    static_cast<int>(RolloutOrigin::kPromotion),
                    pqxx::binarystring(spec.data(), spec.size()), primary, candidate,
                    static_cast<int>(RolloutState::kPending), 0, transition_request_id,
                    like.principal, like.at_micros, like.at_micros, "");
    txn.exec_params(kSetCurrentRollout, endpoint, id);
  }
}

absl::StatusOr<std::optional<RolloutRecord>> PgRegistryStore::GetCurrentRollout(
    const std::string& endpoint) {
  PgCallOptions call{"registry_get_current_rollout"};
  call.read_only = true;
  return pool_->WithTransaction(call, [&](Txn& txn) -> absl::StatusOr<std::optional<RolloutRecord>> {
    pqxx::result r = txn.exec_params(kSelectEndpointRollout, endpoint);
    if (r.empty()) return absl::NotFoundError(absl::StrCat("endpoint \"", endpoint, "\" not found"));
    const std::string id = r[0][0].as<std::string>();
    if (id.empty()) return std::optional<RolloutRecord>();
    MLOPS_ASSIGN_OR_RETURN(RolloutRecord rollout, LoadRollout(txn, id));
    return std::optional<RolloutRecord>(std::move(rollout));
  });
}

absl::StatusOr<DeploymentEventResult> PgRegistryStore::RecordDeploymentEvent(
    const DeploymentEvent& event, AuditEntry audit) {
  return pool_->WithTransaction(
      PgCallOptions{"registry_record_deployment_event"},
      [&](Txn& txn) -> absl::StatusOr<DeploymentEventResult> {
        pqxx::result ep = txn.exec_params(kLockEndpoint, event.endpoint);
        if (ep.empty()) {
          return absl::NotFoundError(absl::StrCat("endpoint \"", event.endpoint, "\" not found"));
        }
        const std::string current_id = ep[0][1].as<std::string>();
        MLOPS_ASSIGN_OR_RETURN(RolloutRecord current, LoadRollout(txn, event.rollout_id));
        if (current.endpoint != event.endpoint) {
          return absl::NotFoundError(absl::StrCat("rollout ", event.rollout_id,
                                                  " is not a rollout of endpoint \"",
                                                  event.endpoint, "\""));
        }
        const int step = event.type == DeploymentEventType::kStepAdvanced ? event.step : 0;
        DeploymentEventResult result;
        pqxx::result seen =
            txn.exec_params(kSelectEvent, event.rollout_id, static_cast<int>(event.type), step);
        if (!seen.empty()) {
          result.audit_sequence = seen[0][0].as<int64_t>();
          result.duplicate = true;
          result.rollout = std::move(current);
          return result;
        }
        if (current_id != event.rollout_id && event.type != DeploymentEventType::kLoadFailed) {
          return absl::FailedPreconditionError(
              absl::StrCat("rollout ", event.rollout_id, " is not the current rollout of endpoint \"",
                           event.endpoint, "\" (", current_id.empty() ? "none" : current_id, ")"));
        }
        MLOPS_ASSIGN_OR_RETURN(RolloutRecord next,
                               ApplyDeploymentEvent(current, event, audit.at_micros));
        txn.exec_params(kUpdateRollout, next.rollout_id, static_cast<int>(next.state),
                        next.current_step, next.updated_at_micros, next.reason);
        audit.model = next.model;
        audit.version = next.candidate_version;
        audit.endpoint = next.endpoint;
        audit.before_json = absl::StrCat("{\"rollout_id\":\"", current.rollout_id, "\",\"state\":\"",
                                         RolloutStateName(current.state), "\",\"step\":",
                                         current.current_step, "}");
        audit.after_json = absl::StrCat("{\"rollout_id\":\"", next.rollout_id, "\",\"state\":\"",
                                        RolloutStateName(next.state), "\",\"step\":",
                                        next.current_step, "}");
        const AuditEntry recorded = AppendAudit(txn, audit);
        if (event.type == DeploymentEventType::kRolledBack &&
            next.origin == RolloutOrigin::kPromotion) {
          RestoreStages(txn, next, audit);
        }
        txn.exec_params(kInsertEvent, event.rollout_id, static_cast<int>(event.type), step,
                        recorded.sequence);
        result.audit_sequence = recorded.sequence;
        result.rollout = std::move(next);
        return result;
      });
}

absl::StatusOr<DeploymentEventResult> PgRegistryStore::StartManualRollout(
    const ManualRollout& rollout, AuditEntry audit) {
  return pool_->WithTransaction(
      PgCallOptions{"registry_start_manual_rollout"},
      [&](Txn& txn) -> absl::StatusOr<DeploymentEventResult> {
        pqxx::result ep = txn.exec_params(kLockEndpoint, rollout.endpoint);
        if (ep.empty()) {
          return absl::NotFoundError(
              absl::StrCat("endpoint \"", rollout.endpoint, "\" not found"));
        }
        const std::string model = ep[0][0].as<std::string>();
        const std::string current = ep[0][1].as<std::string>();
        if (current != rollout.expected_current_rollout) {
          return absl::AbortedError(absl::StrCat("endpoint \"", rollout.endpoint,
                                                 "\" changed rollout meanwhile; retry"));
        }
        pqxx::result m = txn.exec_params(kLockModel, model);
        pqxx::result v = txn.exec_params(kVersionStage, model, rollout.candidate_version);
        if (v.empty()) {
          return absl::NotFoundError(absl::StrCat("model \"", model, "\" version ",
                                                  rollout.candidate_version, " not found"));
        }
        MLOPS_RETURN_IF_ERROR(CheckManualRolloutEligible(
            rollout, static_cast<Stage>(v[0][0].as<int>()), m[0][0].as<int64_t>()));
        if (!current.empty()) txn.exec_params(kSupersede, current, audit.at_micros);
        RolloutRecord r;
        r.rollout_id = NewRolloutId();
        r.endpoint = rollout.endpoint;
        r.model = model;
        r.origin = RolloutOrigin::kManual;
        r.spec = rollout.spec;
        r.primary_version = rollout.primary_version;
        r.candidate_version = rollout.candidate_version;
        r.started_by = audit.principal;
        r.started_at_micros = r.updated_at_micros = audit.at_micros;
        r.reason = rollout.reason;
        txn.exec_params(kInsertRollout, r.rollout_id, r.endpoint, r.model,
                        static_cast<int>(r.origin),
                        pqxx::binarystring(r.spec.data(), r.spec.size()), r.primary_version,
                        r.candidate_version, static_cast<int>(r.state), 0, "", r.started_by,
                        r.started_at_micros, r.updated_at_micros, r.reason);
        txn.exec_params(kSetCurrentRollout, r.endpoint, r.rollout_id);
        audit.model = model;
        audit.version = r.candidate_version;
        audit.endpoint = r.endpoint;
        audit.before_json = absl::StrCat("{\"rollout_id\":\"", current, "\"}");
        audit.after_json = absl::StrCat("{\"rollout_id\":\"", r.rollout_id,
                                        "\",\"state\":\"PENDING\",\"primary_version\":",
                                        r.primary_version, ",\"candidate_version\":",
                                        r.candidate_version, "}");
        const AuditEntry recorded = AppendAudit(txn, audit);
        txn.exec_params(kInsertEvent, r.rollout_id,
                        static_cast<int>(DeploymentEventType::kManualRollout), 0,
                        recorded.sequence);
        DeploymentEventResult result;
        result.audit_sequence = recorded.sequence;
        result.rollout = std::move(r);
        return result;
      });
}

}  // namespace mlops::registry
