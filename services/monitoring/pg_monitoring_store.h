#pragma once

// MonitoringStore over Postgres (schema "monitoring", tables of
// migrations/). Thread-safe: every call takes a
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
  absl::Status AppendPredictions(const std::vector<PredictionLogBatch>& batches,
                                 int writer) override;

  // pg_monitoring_store_labels.cc
  absl::StatusOr<std::vector<bool>> PutLabels(const std::vector<StoredLabel>& labels) override;
  absl::StatusOr<std::vector<KnownPrediction>> FindPredictions(
      const std::vector<std::string>& request_ids) override;
  absl::Status MarkLabelsExpired(const std::vector<PendingLabelKey>& keys,
                                 int64_t now_micros) override;
  absl::StatusOr<std::vector<StoredPendingLabel>> ListPendingLabels(int64_t limit) override;
  absl::StatusOr<int64_t> CountExpiredLabels(const std::string& model, int64_t start_micros,
                                             int64_t end_micros) override;
  absl::StatusOr<std::vector<PerformanceGroup>> QueryPerformance(
      const PerformanceQuery& query) override;

  // pg_monitoring_store_alerts.cc
  absl::StatusOr<int64_t> NextAlertNumber() override;
  absl::Status PutAlert(const StoredAlert& alert) override;
  absl::StatusOr<std::optional<StoredAlert>> GetAlert(int64_t number) override;
  absl::StatusOr<std::vector<StoredAlert>> ListAlerts(const AlertQuery& query) override;

 private:
  PgPool* pool_;  // not owned
};

}  // namespace mlops::monitoring
