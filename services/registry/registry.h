#pragma once
// The registry's domain logic: model and version lifecycle, the gate to
// staging/production, approvals with four eyes, aliases and the audit log.
// No gRPC, no SQL: it works on domain structs through a RegistryStore.
// Does not own the store or the metrics (main does). Thread-safe.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/auth/role.h"
#include "services/registry/artifact_store.h"
#include "services/registry/change_notifier.h"
#include "services/registry/metrics.h"
#include "services/registry/model_tester.h"
#include "services/registry/registry_store.h"

namespace mlops::registry {

// mlops.registry.v1.AuditEventType values used here.
enum AuditEvent : int {
  kAuditModelCreated = 1,
  kAuditVersionRegistered = 2,
  kAuditEvaluationAdded = 3,
  kAuditGatePolicySet = 4,
  kAuditTransitionRequested = 5,
  kAuditTransitionGranted = 6,
  kAuditTransitionDenied = 7,
  kAuditApproved = 8,
  kAuditRejected = 9,
  kAuditAliasSet = 10,
  kAuditAliasDeleted = 11,
  kAuditArtifactRead = 12,
  kAuditEndpointConfigSet = 13,
};

struct TransitionAsk {
  std::string model;
  int64_t version = 0;
  Stage target = Stage::kNone;
  std::string reason;
  bool dry_run = false;
  bool allow_empty_production = false;
};

// The outcome of RequestTransition / Approve: the stored request and, for a
// DENIED one, the FailedPrecondition status listing every failed check.
struct TransitionOutcome {
  TransitionRecord request;
  absl::Status status;
};

// Everything the registry itself holds about one version, for its model card.
struct ModelCardData {
  ModelRecord model;
  VersionRecord version;
  std::vector<TransitionRecord> transitions;  // oldest first
  std::vector<AuditEntry> stage_history;      // stage changes, oldest first
  GatePolicy policy;
  int64_t audit_head_sequence = 0;
  std::string audit_head_hash;
};

struct RegistryOptions {
  int64_t max_artifact_bytes = int64_t{1} << 30;
  std::function<int64_t()> now_micros;  // default: the system clock
  // Told about every committed stage, alias and endpoint change (may be null).
  ChangeNotifier* notifier = nullptr;
  // Runs latency, bias and regression-set tests (may be null: gates with
  // such tests then fail with an ERROR check saying so).
  const ModelTester* model_tester = nullptr;
  // Directories "file://" artifact references may be imported from (empty:
  // file references are refused).
  std::vector<std::string> artifact_import_dirs;
};

class Registry {
 public:
  // `artifacts` holds the artifact bytes (not owned).
  Registry(RegistryStore* store, ArtifactStore* artifacts, RegistryMetrics* metrics,
           RegistryOptions options);

  const RegistryOptions& options() const { return options_; }

  absl::StatusOr<ModelRecord> CreateModel(const Principal& who, ModelRecord model);
  absl::StatusOr<ModelRecord> GetModel(const std::string& name);
  absl::StatusOr<std::vector<ModelRecord>> ListModels(const std::string& prefix,
                                                      const std::string& after, int limit,
                                                      const Tags& tags = {});

  // Artifacts and registration: registry_artifacts.cc.
  // Checks a new version before any artifact byte is stored: finite metrics;
  // the model exists unless create_model_if_missing (NotFound).
  absl::Status PrecheckVersion(const NewVersion& version);
  // Starts a streamed upload of the artifact `sha256` of `size_bytes` bytes
  // (limit max_artifact_bytes); Commit verifies and stores it.
  absl::StatusOr<std::unique_ptr<ArtifactWriter>> BeginArtifactUpload(const std::string& sha256,
                                                                      int64_t size_bytes);
  // Stores the artifact first (artifact_bytes, or the file at import_uri),
  // unless by_reference; then registers the version, which must reference a
  // stored artifact (NotFound otherwise; nothing registered), atomically
  // with its audit entry.
  absl::StatusOr<VersionRecord> RegisterVersion(const Principal& who, NewVersion version);
  absl::StatusOr<VersionRecord> GetVersion(const std::string& model, int64_t version);
  absl::StatusOr<VersionRecord> GetVersionInStage(const std::string& model, Stage stage);
  absl::StatusOr<VersionRecord> GetVersionByAlias(const std::string& model,
                                                  const std::string& alias);
  absl::StatusOr<std::vector<VersionRecord>> ListVersions(const VersionFilter& filter);

  // Opens the artifact (by sha256 or by the version it belongs to) at byte
  // `offset`, verified; the read is audited with `purpose` in details.
  absl::StatusOr<std::unique_ptr<ArtifactReader>> OpenArtifact(
      const Principal& who, const std::string& sha256, const std::string& model, int64_t version,
      const std::string& purpose, const std::string& endpoint, int64_t offset = 0);
  // The whole artifact (OpenArtifact from offset 0).
  absl::StatusOr<std::string> ReadArtifact(const Principal& who, const std::string& sha256,
                                           const std::string& model, int64_t version,
                                           const std::string& purpose,
                                           const std::string& endpoint);

  absl::StatusOr<GatePolicy> SetGatePolicy(const Principal& who, GatePolicy policy,
                                           const std::string& reason);
  absl::StatusOr<GatePolicy> GetGatePolicy(const std::string& model);

  // Errors other than a failed gate are returned as the StatusOr's status.
  absl::StatusOr<TransitionOutcome> RequestTransition(const Principal& who,
                                                      const TransitionAsk& ask);
  absl::StatusOr<TransitionOutcome> Approve(const Principal& who, const std::string& id,
                                            const std::string& comment);
  absl::StatusOr<TransitionRecord> Reject(const Principal& who, const std::string& id,
                                          const std::string& comment);
  absl::StatusOr<TransitionRecord> GetTransition(const std::string& id);
  absl::StatusOr<std::vector<TransitionRecord>> ListTransitions(const TransitionFilter& filter);
  // Appends an evaluation (audited); InvalidArgument for NaN/inf metrics.
  absl::StatusOr<VersionRecord> AddEvaluation(const Principal& who, const std::string& model,
                                              int64_t version, EvaluationRecord evaluation);

  absl::StatusOr<AliasRecord> SetAlias(const Principal& who, const std::string& model,
                                       const std::string& alias, int64_t version,
                                       const std::string& reason);
  absl::StatusOr<int64_t> DeleteAlias(const Principal& who, const std::string& model,
                                      const std::string& alias, const std::string& reason);

  // A gateway's report about a rollout (registry_rollouts.cc): validated,
  // applied and audited in one transaction; watchers are told.
  absl::StatusOr<DeploymentEventResult> RecordDeploymentEvent(const Principal& who,
                                                              DeploymentEvent event);
  // A gateway's forwarded SetRollout (registry_rollouts.cc).
  absl::StatusOr<DeploymentEventResult> StartManualRollout(const Principal& who,
                                                           ManualRollout rollout);
  absl::StatusOr<std::optional<RolloutRecord>> GetCurrentRollout(const std::string& endpoint);
  absl::StatusOr<EndpointRecord> SetEndpoint(const Principal& who, EndpointRecord endpoint,
                                             const std::string& reason);
  absl::StatusOr<EndpointRecord> GetEndpoint(const std::string& endpoint);
  absl::StatusOr<std::vector<EndpointRecord>> ListEndpoints(const std::string& model,
                                                            const std::string& after, int limit);

  // version 0: the production version (NotFound if none).
  absl::StatusOr<ModelCardData> ModelCard(const std::string& model, int64_t version);

  absl::StatusOr<std::vector<AuditEntry>> ReadAudit(const AuditFilter& filter);
  absl::StatusOr<ProductionAt> ProductionAtTime(const std::string& model, int64_t at_micros);
  // from 0 = 1, to 0 = the end.
  absl::StatusOr<AuditVerifyResult> VerifyAudit(int64_t from, int64_t to);

 private:
  int64_t Now() const;
  void Changed() const;
  AuditEntry Audit(const Principal& who, int event, const std::string& model, int64_t version,
                   const std::string& reason) const;
  // Runs the gate of `target` for `v` against the model's current champion.
  absl::StatusOr<GateReport> RunGate(const GatePolicy& policy, const ModelRecord& model,
                                     const VersionRecord& v, Stage target);
  absl::StatusOr<TransitionOutcome> Commit(TransitionCommit commit);
  // The gate's latency, bias and regression-set checks on v's artifact.
  std::vector<CheckResult> RunModelTests(const StageGate& gate, const VersionRecord& v) const;

  RegistryStore* store_;
  ArtifactStore* artifacts_;
  RegistryMetrics* metrics_;  // may be null
  RegistryOptions options_;
};

}  // namespace mlops::registry
