#pragma once
// Persistence of what each endpoint serves and its current (or last)
// rollout, so that a restarted gateway resumes where it was. Implemented over
// Postgres (pg_endpoint_store.h, schema "gateway").

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/gateway/rollout.h"

namespace mlops::gateway {

struct EndpointRecord {
  std::string endpoint;
  std::string model;
  int64_t primary_version = 0;
  int64_t previous_version = 0;  // blue-green / completed rollout: kept loaded; 0 = none
  std::optional<RolloutRecord> rollout;
  int64_t updated_at_micros = 0;
};

// Thread-safe implementations only.
class EndpointStore {
 public:
  virtual ~EndpointStore() = default;
  // Upserts the endpoint and, if set, its rollout (one transaction).
  virtual absl::Status Save(const EndpointRecord& record) = 0;
  // Every endpoint with its latest rollout, ordered by name.
  virtual absl::StatusOr<std::vector<EndpointRecord>> LoadAll() = 0;
};

}  // namespace mlops::gateway
