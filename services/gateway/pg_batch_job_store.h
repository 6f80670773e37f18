#pragma once
// BatchJobStore over Postgres (schema "gateway", table batch_jobs,
// migrations/0002_batch_scoring.sql). Thread-safe through PgPool. Does not
// own the pool.

#include "common/db/pg_pool.h"
#include "services/gateway/batch_job.h"

namespace mlops::gateway {

class PgBatchJobStore final : public BatchJobStore {
 public:
  explicit PgBatchJobStore(PgPool* pool) : pool_(pool) {}
  absl::Status Insert(const BatchJob& job) override;
  absl::StatusOr<BatchJob> Get(const std::string& job_id) override;
  absl::StatusOr<std::optional<BatchJob>> FindByIdempotencyKey(const std::string& key) override;
  absl::Status Update(const BatchJob& job) override;
  absl::StatusOr<std::vector<BatchJob>> ListUnfinished() override;

 private:
  absl::StatusOr<std::vector<BatchJob>> Select(const char* name, const std::string& sql,
                                               const std::string& arg);
  PgPool* const pool_;
};

}  // namespace mlops::gateway
