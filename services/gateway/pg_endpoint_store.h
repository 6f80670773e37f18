#pragma once
// EndpointStore over Postgres (schema "gateway", migrations/). Thread-safe
// through PgPool. Does not own the pool.

#include "common/db/pg_pool.h"
#include "services/gateway/endpoint_store.h"

namespace mlops::gateway {

class PgEndpointStore final : public EndpointStore {
 public:
  explicit PgEndpointStore(PgPool* pool) : pool_(pool) {}
  absl::Status Save(const EndpointRecord& record) override;
  absl::StatusOr<std::vector<EndpointRecord>> LoadAll() override;

 private:
  PgPool* const pool_;
};

}  // namespace mlops::gateway
