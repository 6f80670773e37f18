#pragma once
// The registry's persistence interface (domain structs only; no gRPC, no
// pqxx). PgRegistryStore implements it over Postgres. Every mutating method
// is one transaction that also appends its audit entries to the hash chain
// (sequence, prev_hash and entry_hash are filled in by the store).
// Implementations are thread-safe.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/registry/audit_chain.h"
#include "services/registry/gate_policy.h"
#include "services/registry/registry_types.h"

namespace mlops::registry {

enum class TransitionStatus {
  kPendingApproval = 1,
  kGranted = 2,
  kDenied = 3,
  kRejected = 4,
  kSuperseded = 5,
  kDryRun = 6
};

struct ApprovalRecord {
  std::string principal;
  std::string role;
  bool approved = true;
  std::string comment;
  int64_t at_micros = 0;
};

struct TransitionRecord {
  std::string id;  // "tr-<16 hex>"
  std::string model;
  int64_t version = 0;
  Stage from_stage = Stage::kNone;
  Stage target_stage = Stage::kNone;
  std::string reason;
  std::string requested_by;
  int64_t requested_at_micros = 0;
  TransitionStatus status = TransitionStatus::kPendingApproval;
  GateReport report;
  std::vector<ApprovalRecord> approvals;
  int64_t resolved_at_micros = 0;
  int64_t replaced_production_version = 0;
  // The model generation the gate was evaluated against.
  int64_t evaluated_generation = 0;
  bool allow_empty_production = false;
  // Approvals the request needs and the role approvers must have (fixed when
  // the request is made: later policy changes do not apply to it).
  int required_approvals = 0;
  Role approval_role = Role::kDeployer;
};

// One transition write. `insert`: a new request, else an update of a
// PENDING_APPROVAL one (FailedPrecondition if it is no longer pending).
// `apply`: move the stage now, after checking that the model's generation is
// still `request.evaluated_generation` (else Aborted, nothing written).
struct TransitionCommit {
  TransitionRecord request;
  bool insert = true;
  bool apply = false;
  std::optional<ApprovalRecord> new_approval;
  std::vector<AuditEntry> audit;
};

struct TransitionFilter {
  std::string model;  // empty: all
  int64_t version = 0;
  std::vector<TransitionStatus> statuses;
  std::optional<Stage> target;
  int64_t start_micros = 0;  // requested at, 0: unbounded
  int64_t end_micros = 0;    // exclusive, 0: unbounded
  // Paging (newest first): requests strictly older than (before_micros, before_id).
  int64_t before_micros = 0;
  std::string before_id;
  int limit = 100;
};

struct AuditFilter {
  std::string model;
  int64_t version = 0;
  std::vector<int> event_types;
  std::string principal;
  int64_t start_micros = 0;  // 0: unbounded
  int64_t end_micros = 0;    // 0: unbounded; exclusive
  bool newest_first = false;
  int64_t after_sequence = 0;  // paging (before_sequence when newest_first)
  int limit = 100;
};

struct ProductionAt {
  int64_t version = 0;  // 0: none
  int64_t since_micros = 0;
  int64_t until_micros = 0;  // 0: still in production
  int64_t entered_sequence = 0;
  int64_t left_sequence = 0;
};

class RegistryStore {
 public:
  virtual ~RegistryStore() = default;

  // AlreadyExists if the name is taken.
  virtual absl::StatusOr<ModelRecord> CreateModel(const ModelRecord& model, AuditEntry audit) = 0;
  virtual absl::StatusOr<ModelRecord> GetModel(const std::string& name) = 0;
  // Ordered by name, names > after_name, carrying every one of `tags`.
  virtual absl::StatusOr<std::vector<ModelRecord>> ListModels(const std::string& prefix,
                                                              const std::string& after_name,
                                                              int limit, const Tags& tags) = 0;

  // Assigns the next version number and stores the version (referencing its
  // artifact by sha256; the caller checked the artifact store) with its
  // audit entry, in one transaction. NotFound for an unknown model unless
  // create_model_if_missing.
  virtual absl::StatusOr<VersionRecord> RegisterVersion(const NewVersion& version,
                                                        AuditEntry audit) = 0;
  virtual absl::StatusOr<VersionRecord> GetVersion(const std::string& model, int64_t version) = 0;
  // NotFound if no version is in that stage (the newest one for STAGING).
  virtual absl::StatusOr<VersionRecord> GetVersionInStage(const std::string& model,
                                                          Stage stage) = 0;
  virtual absl::StatusOr<std::vector<VersionRecord>> ListVersions(const VersionFilter& filter) = 0;

  // Appends one audit entry (e.g. an artifact read) on its own.
  virtual absl::Status RecordAudit(AuditEntry audit) = 0;

  // Stores the policy with the next policy_version.
  virtual absl::StatusOr<GatePolicy> SetGatePolicy(const GatePolicy& policy, AuditEntry audit) = 0;
  // The empty policy (version 0) if never set.
  virtual absl::StatusOr<GatePolicy> GetGatePolicy(const std::string& model) = 0;

  virtual absl::StatusOr<TransitionRecord> CommitTransition(const TransitionCommit& commit) = 0;
  virtual absl::StatusOr<TransitionRecord> GetTransition(const std::string& id) = 0;
  // Newest first.
  virtual absl::StatusOr<std::vector<TransitionRecord>> ListTransitions(
      const TransitionFilter& filter) = 0;

  // Appends an evaluation (AlreadyExists for the same name and dataset
  // version on the version; NotFound for an unknown version).
  virtual absl::StatusOr<VersionRecord> AddEvaluation(const std::string& model, int64_t version,
                                                      const EvaluationRecord& evaluation,
                                                      AuditEntry audit) = 0;

  // FailedPrecondition when a champion alias targets a non-production version
  // or any alias an archived one (checked under the model lock).
  virtual absl::StatusOr<AliasRecord> SetAlias(const AliasRecord& alias, AuditEntry audit) = 0;
  // Returns the version it pointed at; NotFound if unknown.
  virtual absl::StatusOr<int64_t> DeleteAlias(const std::string& model, const std::string& alias,
                                              AuditEntry audit) = 0;

  virtual absl::StatusOr<std::vector<AuditEntry>> ReadAudit(const AuditFilter& filter) = 0;
  // Streams entries with from <= sequence <= to (to 0: the end) in order;
  // stops when `fn` returns false.
  // `fn` may take the entry's contents (e.g. swap them with a recycled
  // entry's): the store refills it for the next row.
  virtual absl::Status ScanAudit(int64_t from, int64_t to,
                                 const std::function<bool(AuditEntry&)>& fn) = 0;
  // The entry_hash of entry `sequence` (kGenesisHash for 0); NotFound if none.
  virtual absl::StatusOr<std::string> AuditHashAt(int64_t sequence) = 0;
  virtual absl::StatusOr<ProductionAt> ProductionAtTime(const std::string& model,
                                                        int64_t at_micros) = 0;
  // The sequence of the newest audit entry (0 if none).
  virtual absl::StatusOr<int64_t> AuditHead() = 0;

  // Creates or replaces an endpoint (NotFound for an unknown model).
  virtual absl::StatusOr<EndpointRecord> SetEndpoint(const EndpointRecord& endpoint,
                                                     AuditEntry audit) = 0;
  virtual absl::StatusOr<EndpointRecord> GetEndpoint(const std::string& endpoint) = 0;
  // Ordered by name, names > after; `model` empty: all.
  virtual absl::StatusOr<std::vector<EndpointRecord>> ListEndpoints(const std::string& model,
                                                                    const std::string& after,
                                                                    int limit) = 0;

  // The endpoint's current (or last) rollout; nullopt when it never had one.
  virtual absl::StatusOr<std::optional<RolloutRecord>> GetCurrentRollout(
      const std::string& endpoint) = 0;
  // Applies a gateway's report to the endpoint's current rollout in one
  // transaction: idempotent per (rollout, type, step); the move is decided by
  // ApplyDeploymentEvent; ROLLED_BACK of a promotion restores the stages
  // (primary back to PRODUCTION and champion, candidate ARCHIVED). `audit`
  // is completed (sequence) and appended.
  virtual absl::StatusOr<DeploymentEventResult> RecordDeploymentEvent(
      const DeploymentEvent& event, AuditEntry audit) = 0;
  // Starts `rollout` (origin MANUAL, PENDING) on its endpoint in one
  // transaction, superseding an unfinished one, after checking the
  // candidate's eligibility (CheckManualRolloutEligible) under the model's
  // lock; `audit` (MANUAL_ROLLOUT) is completed and appended.
  virtual absl::StatusOr<DeploymentEventResult> StartManualRollout(const ManualRollout& rollout,
                                                                   AuditEntry audit) = 0;
};

}  // namespace mlops::registry
