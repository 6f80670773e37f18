#pragma once
// EndpointStore over Postgres (schema "gateway", migrations/): endpoints,
// rollouts and rollout start claims (rollout_starts, locked per endpoint with
// SELECT ... FOR UPDATE). Thread-safe through PgPool. Does not own the pool.

#include "common/db/pg_pool.h"
#include "services/gateway/endpoint_store.h"

namespace mlops::gateway {

class PgEndpointStore final : public EndpointStore {
 public:
  explicit PgEndpointStore(PgPool* pool) : pool_(pool) {}
  absl::Status Save(const EndpointRecord& record) override;
  absl::StatusOr<std::vector<EndpointRecord>> LoadAll() override;
  absl::Status ClaimRolloutStart(
      const std::string& endpoint, const std::string& token, int64_t now_micros,
      const std::function<absl::Status(const RolloutStartView&)>& decide) override;
  absl::Status FinishRolloutStart(const std::string& endpoint, const std::string& token,
                                  const std::string& rollout_id) override;

 private:
  PgPool* const pool_;
};

}  // namespace mlops::gateway
