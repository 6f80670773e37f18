#pragma once

// MonitoringStore over Postgres (schema "monitoring", tables of
// migrations/0001_monitoring_tables.sql). Thread-safe: every call takes a
// connection from the pool.

#include "common/db/pg_pool.h"
#include "services/monitoring/monitoring_store.h"

namespace mlops::monitoring {

class PgMonitoringStore : public MonitoringStore {
 public:
  explicit PgMonitoringStore(PgPool* pool) : pool_(pool) {}

  absl::Status PutReference(const StoredReference& reference) override;
  absl::StatusOr<std::optional<StoredReference>> GetReference(const std::string& model,
                                                              int64_t version) override;
  absl::Status PutConfig(const std::string& model, const std::string& config,
                         int64_t updated_at_micros) override;
  absl::StatusOr<std::optional<std::string>> GetConfig(const std::string& model) override;
  absl::Status PutPolicy(const StoredPolicy& policy, int64_t updated_at_micros) override;
  absl::StatusOr<std::vector<StoredPolicy>> ListPolicies(const std::string& model,
                                                         const std::string& after_model,
                                                         const std::string& after_name,
                                                         int limit) override;
  absl::StatusOr<std::optional<StoredPolicy>> GetPolicy(const std::string& model,
                                                        const std::string& name) override;
  absl::StatusOr<bool> DeletePolicy(const std::string& model, const std::string& name) override;
  absl::Status AppendPredictions(const std::vector<PredictionLogRow>& rows) override;

 private:
  PgPool* pool_;  // not owned
};

}  // namespace mlops::monitoring
