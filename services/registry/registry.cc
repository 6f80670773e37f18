#include "services/registry/registry.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status/status_macros.h"
#include "services/registry/audit_range_verify.h"
#include "services/registry/stage_machine.h"

namespace mlops::registry {
namespace {

std::string NewTransitionId() {
  absl::BitGen gen;
  return absl::StrFormat("tr-%016x", absl::Uniform<uint64_t>(gen));
}

std::string StageJson(Stage s) { return absl::StrCat("{\"stage\":\"", StageName(s), "\"}"); }

const char* StatusName(TransitionStatus s) {
  switch (s) {
    case TransitionStatus::kPendingApproval: return "pending_approval";
    case TransitionStatus::kGranted: return "granted";
    case TransitionStatus::kDenied: return "denied";
    case TransitionStatus::kRejected: return "rejected";
    case TransitionStatus::kSuperseded: return "superseded";
    case TransitionStatus::kDryRun: return "dry_run";
  }
  return "unknown";
}

}  // namespace

Registry::Registry(RegistryStore* store, ArtifactStore* artifacts, RegistryMetrics* metrics,
                   RegistryOptions options)
    : store_(store), artifacts_(artifacts), metrics_(metrics), options_(std::move(options)) {}

int64_t Registry::Now() const {
  if (options_.now_micros) return options_.now_micros();
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Registry::Changed() const {
  if (options_.notifier != nullptr) options_.notifier->Notify();
}

AuditEntry Registry::Audit(const Principal& who, int event, const std::string& model,
                           int64_t version, const std::string& reason) const {
  AuditEntry e;
  e.at_micros = Now();
  e.principal = who.name;
  e.event_type = event;
  e.model = model;
  e.version = version;
  e.reason = reason;
  return e;
}

absl::StatusOr<ModelRecord> Registry::CreateModel(const Principal& who, ModelRecord model) {
  model.created_at_micros = Now();
  model.created_by = who.name;
  AuditEntry e = Audit(who, kAuditModelCreated, model.name, 0, "");
  e.after_json = absl::StrCat("{\"model\":", JsonQuote(model.name), ",\"owner\":",
                              JsonQuote(model.owner), "}");
  MLOPS_ASSIGN_OR_RETURN(ModelRecord out, store_->CreateModel(model, e));
  if (metrics_ != nullptr) metrics_->AuditEntries(kAuditModelCreated);
  return out;
}

absl::StatusOr<ModelRecord> Registry::GetModel(const std::string& name) {
  return store_->GetModel(name);
}

absl::StatusOr<std::vector<ModelRecord>> Registry::ListModels(const std::string& prefix,
                                                              const std::string& after,
                                                              int limit, const Tags& tags) {
  return store_->ListModels(prefix, after, limit, tags);
}

absl::StatusOr<VersionRecord> Registry::GetVersion(const std::string& model, int64_t version) {
  return store_->GetVersion(model, version);
}

absl::StatusOr<VersionRecord> Registry::GetVersionInStage(const std::string& model, Stage stage) {
  return store_->GetVersionInStage(model, stage);
}

absl::StatusOr<VersionRecord> Registry::GetVersionByAlias(const std::string& model,
                                                          const std::string& alias) {
  MLOPS_ASSIGN_OR_RETURN(ModelRecord m, store_->GetModel(model));
  for (const AliasRecord& a : m.aliases) {
    if (a.name == alias) return store_->GetVersion(model, a.version);
  }
  return absl::NotFoundError(absl::StrCat("model \"", model, "\" has no alias \"", alias, "\""));
}

absl::StatusOr<std::vector<VersionRecord>> Registry::ListVersions(const VersionFilter& filter) {
  return store_->ListVersions(filter);
}

absl::StatusOr<TransitionOutcome> Registry::Commit(TransitionCommit commit) {
  MLOPS_ASSIGN_OR_RETURN(TransitionRecord stored, store_->CommitTransition(commit));
  if (metrics_ != nullptr) {
    for (const AuditEntry& e : commit.audit) metrics_->AuditEntries(e.event_type);
    if (stored.status != TransitionStatus::kPendingApproval) {
      metrics_->Transition(stored.target_stage, StatusName(stored.status));
    }
    if (commit.apply) {
      metrics_->StageMoved(stored.from_stage, stored.target_stage);
      if (stored.replaced_production_version != 0) {
        metrics_->StageMoved(Stage::kProduction, Stage::kArchived);
      }
    }
  }
  if (commit.apply) Changed();
  TransitionOutcome out{std::move(stored), absl::OkStatus()};
  if (out.request.status == TransitionStatus::kDenied) {
    out.status = absl::FailedPreconditionError(absl::StrCat(
        "transition ", out.request.id, " denied: ", DescribeFailures(out.request.report)));
  }
  return out;
}

absl::StatusOr<TransitionOutcome> Registry::RequestTransition(const Principal& who,
                                                              const TransitionAsk& ask) {
  MLOPS_ASSIGN_OR_RETURN(ModelRecord model, store_->GetModel(ask.model));
  MLOPS_ASSIGN_OR_RETURN(VersionRecord v, store_->GetVersion(ask.model, ask.version));
  MLOPS_ASSIGN_OR_RETURN(GatePolicy policy, store_->GetGatePolicy(ask.model));
  const bool touches_production =
      ask.target == Stage::kProduction || v.stage == Stage::kProduction;
  if (touches_production && !RoleAtLeast(who.role, Role::kDeployer)) {
    return absl::PermissionDeniedError(absl::StrCat(
        "moving a version into or out of PRODUCTION needs role deployer; ", who.name, " is ",
        std::string(RoleName(who.role))));
  }
  MLOPS_RETURN_IF_ERROR(
      CheckStageMove(v.stage, ask.target, policy.require_staging_before_production));
  if (v.stage == Stage::kProduction && ask.target != Stage::kProduction &&
      !(ask.allow_empty_production && who.role == Role::kAdmin)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "version ", v.version, " is the production version of \"", ask.model,
        "\": promote another version to replace it (or, as admin, set allow_empty_production)"));
  }
  TransitionRecord t;
  t.id = NewTransitionId();
  t.model = ask.model;
  t.version = ask.version;
  t.from_stage = v.stage;
  t.target_stage = ask.target;
  t.reason = ask.reason;
  t.requested_by = who.name;
  t.requested_at_micros = Now();
  t.evaluated_generation = model.generation;
  t.allow_empty_production = ask.allow_empty_production;
  t.report.policy_version = policy.policy_version;
  t.report.target_stage = ask.target;
  t.report.evaluated_at_micros = t.requested_at_micros;
  if (IsGated(ask.target)) {
    MLOPS_ASSIGN_OR_RETURN(t.report, RunGate(policy, model, v, ask.target));
    const ApprovalRequirement& need = GateFor(policy, ask.target)->approvals;
    t.required_approvals = need.count;
    t.approval_role = need.role;
  }
  if (ask.dry_run) {
    t.status = TransitionStatus::kDryRun;
    TransitionOutcome out{t, absl::OkStatus()};
    if (!t.report.passed) {
      out.status = absl::FailedPreconditionError(
          absl::StrCat("transition (dry run) denied: ", DescribeFailures(t.report)));
    }
    return out;
  }
  TransitionCommit commit;
  AuditEntry requested = Audit(who, kAuditTransitionRequested, t.model, t.version, t.reason);
  requested.request_id = t.id;
  requested.before_json = StageJson(t.from_stage);
  requested.after_json = StageJson(t.target_stage);
  commit.audit.push_back(requested);
  if (!t.report.passed) {
    t.status = TransitionStatus::kDenied;
    t.resolved_at_micros = Now();
    AuditEntry denied = requested;
    denied.event_type = kAuditTransitionDenied;
    denied.details_json = absl::StrCat("{\"failures\":", JsonQuote(DescribeFailures(t.report)), "}");
    commit.audit.push_back(denied);
  } else if (t.required_approvals > 0) {
    t.status = TransitionStatus::kPendingApproval;
  } else {
    t.status = TransitionStatus::kGranted;
    t.resolved_at_micros = Now();
    commit.apply = true;
    AuditEntry granted = requested;
    granted.event_type = kAuditTransitionGranted;
    commit.audit.push_back(granted);
  }
  commit.request = t;
  commit.insert = true;
  return Commit(std::move(commit));
}

absl::StatusOr<TransitionOutcome> Registry::Approve(const Principal& who, const std::string& id,
                                                    const std::string& comment) {
  MLOPS_ASSIGN_OR_RETURN(TransitionRecord t, store_->GetTransition(id));
  if (t.status != TransitionStatus::kPendingApproval) {
    return absl::FailedPreconditionError(
        absl::StrCat("transition ", id, " is ", StatusName(t.status), ", not pending approval"));
  }
  std::vector<std::string> approved_by;
  for (const ApprovalRecord& a : t.approvals) {
    if (a.approved) approved_by.push_back(a.principal);
  }
  MLOPS_RETURN_IF_ERROR(CheckApprover(who, t.requested_by, t.approval_role, approved_by));
  ApprovalRecord approval{who.name, std::string(RoleName(who.role)), true, comment, Now()};
  TransitionCommit commit;
  commit.insert = false;
  commit.new_approval = approval;
  AuditEntry approved = Audit(who, kAuditApproved, t.model, t.version, comment);
  approved.request_id = t.id;
  commit.audit.push_back(approved);
  if (static_cast<int>(approved_by.size()) + 1 >= t.required_approvals) {
    MLOPS_ASSIGN_OR_RETURN(ModelRecord model, store_->GetModel(t.model));
    if (model.generation != t.evaluated_generation) {
      // The production version changed since the gate ran: run it again.
      MLOPS_ASSIGN_OR_RETURN(VersionRecord v, store_->GetVersion(t.model, t.version));
      MLOPS_ASSIGN_OR_RETURN(GatePolicy policy, store_->GetGatePolicy(t.model));
      MLOPS_RETURN_IF_ERROR(
          CheckStageMove(v.stage, t.target_stage, policy.require_staging_before_production));
      MLOPS_ASSIGN_OR_RETURN(t.report, RunGate(policy, model, v, t.target_stage));
      t.evaluated_generation = model.generation;
      t.from_stage = v.stage;
    }
    t.resolved_at_micros = Now();
    AuditEntry result = approved;
    result.reason = t.reason;
    result.before_json = StageJson(t.from_stage);
    result.after_json = StageJson(t.target_stage);
    if (t.report.passed) {
      t.status = TransitionStatus::kGranted;
      commit.apply = true;
      result.event_type = kAuditTransitionGranted;
    } else {
      t.status = TransitionStatus::kDenied;
      result.event_type = kAuditTransitionDenied;
      result.details_json =
          absl::StrCat("{\"failures\":", JsonQuote(DescribeFailures(t.report)), "}");
    }
    commit.audit.push_back(result);
  }
  commit.request = t;
  return Commit(std::move(commit));
}

absl::StatusOr<TransitionRecord> Registry::Reject(const Principal& who, const std::string& id,
                                                  const std::string& comment) {
  MLOPS_ASSIGN_OR_RETURN(TransitionRecord t, store_->GetTransition(id));
  if (t.status != TransitionStatus::kPendingApproval) {
    return absl::FailedPreconditionError(
        absl::StrCat("transition ", id, " is ", StatusName(t.status), ", not pending approval"));
  }
  if (who.name != t.requested_by && who.role != Role::kAdmin &&
      !RoleAtLeast(who.role, t.approval_role)) {
    return absl::PermissionDeniedError(absl::StrCat("rejecting needs role ",
                                                    std::string(RoleName(t.approval_role)), " or being the "
                                                    "requester; ", who.name, " is ",
                                                    std::string(RoleName(who.role))));
  }
  t.status = TransitionStatus::kRejected;
  t.resolved_at_micros = Now();
  TransitionCommit commit;
  commit.insert = false;
  commit.new_approval = ApprovalRecord{who.name, std::string(RoleName(who.role)), false, comment,
                                       t.resolved_at_micros};
  AuditEntry rejected = Audit(who, kAuditRejected, t.model, t.version, comment);
  rejected.request_id = t.id;
  commit.audit.push_back(rejected);
  commit.request = t;
  MLOPS_ASSIGN_OR_RETURN(TransitionOutcome out, Commit(std::move(commit)));
  return out.request;
}

absl::StatusOr<TransitionRecord> Registry::GetTransition(const std::string& id) {
  return store_->GetTransition(id);
}

absl::StatusOr<std::vector<TransitionRecord>> Registry::ListTransitions(
    const TransitionFilter& filter) {
  return store_->ListTransitions(filter);
}

absl::StatusOr<VersionRecord> Registry::AddEvaluation(const Principal& who,
                                                      const std::string& model, int64_t version,
                                                      EvaluationRecord evaluation) {
  for (const auto& [metric, value] : evaluation.metrics) {
    if (!std::isfinite(value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("evaluation.metrics[\"", metric, "\"]: NaN/inf not allowed"));
    }
  }
  if (evaluation.name.empty()) evaluation.name = "test";
  evaluation.recorded_at_micros = Now();
  AuditEntry e = Audit(who, kAuditEvaluationAdded, model, version, "");
  e.after_json = absl::StrCat("{\"evaluation\":", JsonQuote(evaluation.name),
                              ",\"dataset_version\":", JsonQuote(evaluation.dataset_version), "}");
  MLOPS_ASSIGN_OR_RETURN(VersionRecord out, store_->AddEvaluation(model, version, evaluation, e));
  if (metrics_ != nullptr) metrics_->AuditEntries(kAuditEvaluationAdded);
  return out;
}

absl::StatusOr<AliasRecord> Registry::SetAlias(const Principal& who, const std::string& model,
                                               const std::string& alias, int64_t version,
                                               const std::string& reason) {
  if (alias == "champion" && !RoleAtLeast(who.role, Role::kDeployer)) {
    return absl::PermissionDeniedError("moving alias champion needs role deployer");
  }
  AliasRecord a{model, alias, version, Now(), who.name};
  AuditEntry e = Audit(who, kAuditAliasSet, model, version, reason);
  e.after_json = absl::StrCat("{\"alias\":", JsonQuote(alias), ",\"version\":", version, "}");
  MLOPS_ASSIGN_OR_RETURN(AliasRecord out, store_->SetAlias(a, e));
  Changed();
  if (metrics_ != nullptr) metrics_->AuditEntries(kAuditAliasSet);
  return out;
}

absl::StatusOr<int64_t> Registry::DeleteAlias(const Principal& who, const std::string& model,
                                              const std::string& alias,
                                              const std::string& reason) {
  if (alias == "champion" && !RoleAtLeast(who.role, Role::kDeployer)) {
    return absl::PermissionDeniedError("deleting alias champion needs role deployer");
  }
  AuditEntry e = Audit(who, kAuditAliasDeleted, model, 0, reason);
  e.before_json = absl::StrCat("{\"alias\":", JsonQuote(alias), "}");
  MLOPS_ASSIGN_OR_RETURN(int64_t previous, store_->DeleteAlias(model, alias, e));
  Changed();
  if (metrics_ != nullptr) metrics_->AuditEntries(kAuditAliasDeleted);
  return previous;
}

absl::StatusOr<EndpointRecord> Registry::SetEndpoint(const Principal& who,
                                                     EndpointRecord endpoint,
                                                     const std::string& reason) {
  endpoint.updated_at_micros = Now();
  endpoint.updated_by = who.name;
  AuditEntry e = Audit(who, kAuditEndpointConfigSet, endpoint.model, 0, reason);
  e.endpoint = endpoint.endpoint;
  e.after_json = absl::StrCat("{\"endpoint\":", JsonQuote(endpoint.endpoint), ",\"model\":",
                              JsonQuote(endpoint.model), "}");
  MLOPS_ASSIGN_OR_RETURN(EndpointRecord out, store_->SetEndpoint(endpoint, e));
  if (metrics_ != nullptr) metrics_->AuditEntries(kAuditEndpointConfigSet);
  Changed();
  return out;
}

absl::StatusOr<EndpointRecord> Registry::GetEndpoint(const std::string& endpoint) {
  return store_->GetEndpoint(endpoint);
}

absl::StatusOr<std::vector<EndpointRecord>> Registry::ListEndpoints(const std::string& model,
                                                                    const std::string& after,
                                                                    int limit) {
  return store_->ListEndpoints(model, after, limit);
}

absl::StatusOr<ModelCardData> Registry::ModelCard(const std::string& model, int64_t version) {
  ModelCardData card;
  MLOPS_ASSIGN_OR_RETURN(card.audit_head_sequence, store_->AuditHead());
  MLOPS_ASSIGN_OR_RETURN(card.audit_head_hash, store_->AuditHashAt(card.audit_head_sequence));
  MLOPS_ASSIGN_OR_RETURN(card.model, store_->GetModel(model));
  if (version == 0) {
    MLOPS_ASSIGN_OR_RETURN(card.version, store_->GetVersionInStage(model, Stage::kProduction));
  } else {
    MLOPS_ASSIGN_OR_RETURN(card.version, store_->GetVersion(model, version));
  }
  MLOPS_ASSIGN_OR_RETURN(card.policy, store_->GetGatePolicy(model));
  constexpr int kMaxPages = 1000;  // bounds both loops (1000 items per page)
  TransitionFilter tf;
  tf.model = model;
  tf.version = card.version.version;
  tf.limit = 1000;
  for (int page = 0; page < kMaxPages; ++page) {
    MLOPS_ASSIGN_OR_RETURN(std::vector<TransitionRecord> batch, store_->ListTransitions(tf));
    if (batch.empty()) break;
    tf.before_micros = batch.back().requested_at_micros;
    tf.before_id = batch.back().id;
    for (TransitionRecord& t : batch) card.transitions.push_back(std::move(t));
  }
  std::reverse(card.transitions.begin(), card.transitions.end());
  AuditFilter af;
  af.model = model;
  af.version = card.version.version;
  af.event_types = {kAuditTransitionGranted};
  af.limit = 1000;
  for (int page = 0; page < kMaxPages; ++page) {
    MLOPS_ASSIGN_OR_RETURN(std::vector<AuditEntry> batch, store_->ReadAudit(af));
    if (batch.empty()) break;
    af.after_sequence = batch.back().sequence;
    for (AuditEntry& e : batch) card.stage_history.push_back(std::move(e));
  }
  return card;
}

absl::StatusOr<std::vector<AuditEntry>> Registry::ReadAudit(const AuditFilter& filter) {
  return store_->ReadAudit(filter);
}

absl::StatusOr<ProductionAt> Registry::ProductionAtTime(const std::string& model,
                                                        int64_t at_micros) {
  return store_->ProductionAtTime(model, at_micros);
}

absl::StatusOr<AuditVerifyResult> Registry::VerifyAudit(int64_t from, int64_t to) {
  return VerifyAuditRange(*store_, from, to);
}

}  // namespace mlops::registry
