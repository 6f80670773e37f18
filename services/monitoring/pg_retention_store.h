#pragma once

// RetentionStore over Postgres (schema "monitoring": prediction_batches,
// prediction_requests, ground_truth; indexes of migration 0005), and the
// effective raw retention of a model read from its stored config.
// Thread-safe: every call takes a connection from the pool.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/db/pg_pool.h"
#include "services/monitoring/monitoring_store.h"
#include "services/monitoring/retention_sweeper.h"

namespace mlops::monitoring {

class PgRetentionStore : public RetentionStore {
 public:
  explicit PgRetentionStore(PgPool* pool) : pool_(pool) {}

  absl::StatusOr<std::vector<std::string>> ListRetainedModels() override;
  absl::StatusOr<RetentionDeleted> DeletePredictionBatches(const std::string& model,
                                                           int64_t cutoff_micros,
                                                           int64_t limit) override;
  absl::StatusOr<int64_t> DeleteOrphanLabels(const std::string& model, int64_t cutoff_micros,
                                             int64_t limit) override;

 private:
  PgPool* pool_;  // not owned
};

// The model's raw_retention_micros from its stored MonitoringConfig (the
// default, 7 days, when it has none or leaves it 0). `store` is not owned.
std::function<absl::StatusOr<int64_t>(const std::string& model)> RawRetentionFromConfigs(
    MonitoringStore* store);

}  // namespace mlops::monitoring
