#pragma once
// RegistryStore over Postgres (schema "registry", migrations/). Artifact
// bytes are not its business (see artifact_store.h). Does not own the pool. Thread-safe (each call leases a connection).
#include <memory>

#include "common/db/pg_pool.h"
#include "services/registry/registry_store.h"

namespace mlops::registry {

class PgRegistryStore final : public RegistryStore {
 public:
  explicit PgRegistryStore(PgPool* pool) : pool_(pool) {}

  absl::StatusOr<ModelRecord> CreateModel(const ModelRecord& model, AuditEntry audit) override;
  absl::StatusOr<ModelRecord> GetModel(const std::string& name) override;
  absl::StatusOr<std::vector<ModelRecord>> ListModels(const std::string& prefix,
                                                      const std::string& after_name, int limit,
                                                      const Tags& tags) override;
  absl::StatusOr<VersionRecord> RegisterVersion(const NewVersion& version,
                                                AuditEntry audit) override;
  absl::StatusOr<VersionRecord> GetVersion(const std::string& model, int64_t version) override;
  absl::StatusOr<VersionRecord> GetVersionInStage(const std::string& model, Stage stage) override;
  absl::StatusOr<std::vector<VersionRecord>> ListVersions(const VersionFilter& filter) override;
  absl::Status RecordAudit(AuditEntry audit) override;
  absl::StatusOr<GatePolicy> SetGatePolicy(const GatePolicy& policy, AuditEntry audit) override;
  absl::StatusOr<GatePolicy> GetGatePolicy(const std::string& model) override;
  absl::StatusOr<TransitionRecord> CommitTransition(const TransitionCommit& commit) override;
  absl::StatusOr<TransitionRecord> GetTransition(const std::string& id) override;
  // ListTransitions and AddEvaluation: pg_registry_evaluations.cc.
  absl::StatusOr<std::vector<TransitionRecord>> ListTransitions(
      const TransitionFilter& filter) override;
  absl::StatusOr<VersionRecord> AddEvaluation(const std::string& model, int64_t version,
                                              const EvaluationRecord& evaluation,
                                              AuditEntry audit) override;
  absl::StatusOr<AliasRecord> SetAlias(const AliasRecord& alias, AuditEntry audit) override;
  absl::StatusOr<int64_t> DeleteAlias(const std::string& model, const std::string& alias,
                                      AuditEntry audit) override;
  absl::StatusOr<std::vector<AuditEntry>> ReadAudit(const AuditFilter& filter) override;
  absl::Status ScanAudit(int64_t from, int64_t to,
                         const std::function<bool(AuditEntry&)>& fn) override;
  absl::StatusOr<std::string> AuditHashAt(int64_t sequence) override;
  absl::StatusOr<ProductionAt> ProductionAtTime(const std::string& model,
                                                int64_t at_micros) override;
  absl::StatusOr<int64_t> AuditHead() override;
  // Endpoints: pg_registry_endpoints.cc.
  absl::StatusOr<EndpointRecord> SetEndpoint(const EndpointRecord& endpoint,
                                             AuditEntry audit) override;
  absl::StatusOr<EndpointRecord> GetEndpoint(const std::string& endpoint) override;
  absl::StatusOr<std::vector<EndpointRecord>> ListEndpoints(const std::string& model,
                                                            const std::string& after,
                                                            int limit) override;

  absl::StatusOr<std::optional<RolloutRecord>> GetCurrentRollout(
      const std::string& endpoint) override;
  absl::StatusOr<DeploymentEventResult> StartManualRollout(const ManualRollout& rollout,
                                                           AuditEntry audit) override;
  absl::StatusOr<DeploymentEventResult> RecordDeploymentEvent(const DeploymentEvent& event,
                                                              AuditEntry audit) override;

 private:
  PgPool* pool_;
};

}  // namespace mlops::registry
