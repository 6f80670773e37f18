#pragma once
// Persistence of what each endpoint serves and its current (or last)
// rollout, so that a restarted gateway resumes where it was, and the claims
// that make starting a rollout atomic across the replicas sharing the store
// (rollout_start.h). Implemented over Postgres (pg_endpoint_store.h, schema
// "gateway").

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/gateway/rollout.h"
#include "services/gateway/rollout_start.h"

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

  // One transaction holding `endpoint`'s claim row lock (two callers on any
  // replicas are serialized): reads what the store knows, asks `decide`, and
  // when it answers Ok records the claim (`token`, `now_micros`, no rollout
  // id yet). `decide`'s error is returned as it is (nothing recorded).
  virtual absl::Status ClaimRolloutStart(
      const std::string& endpoint, const std::string& token, int64_t now_micros,
      const std::function<absl::Status(const RolloutStartView&)>& decide) = 0;
  // Records the registry's `rollout_id` for the claim `token`, or with an
  // empty id releases it. Nothing happens when another claim replaced it.
  virtual absl::Status FinishRolloutStart(const std::string& endpoint, const std::string& token,
                                          const std::string& rollout_id) = 0;
};

}  // namespace mlops::gateway
