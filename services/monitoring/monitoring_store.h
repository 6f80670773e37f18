#pragma once

// Persistence of the monitoring service: references (serialized
// mlops.monitoring.v1.Reference plus raw sample values per feature),
// configurations and alert policies (serialized messages keyed by model /
// (model, name)), and raw prediction records appended in batches.
// Implementations are thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mlops::monitoring {

struct StoredReference {
  std::string model;
  int64_t version = 0;
  std::string reference;  // serialized v1.Reference
  int64_t set_at_micros = 0;
  std::vector<std::pair<std::string, std::vector<double>>> samples;  // feature -> values
};

// One raw prediction record as stored.
struct PredictionLogRow {
  std::string model;
  int64_t version = 0;
  std::string endpoint;
  int32_t variant = 0;
  std::string request_id;
  int64_t timestamp_micros = 0;
  std::string features;  // serialized common.v1.Row
  std::optional<double> score;
  std::string predicted_label;
  int64_t latency_micros = 0;
  std::string error_code;
};

struct StoredPolicy {
  std::string model;
  std::string name;
  std::string policy;  // serialized v1.AlertPolicy
};

class MonitoringStore {
 public:
  virtual ~MonitoringStore() = default;

  // Replaces the version's reference and samples atomically.
  virtual absl::Status PutReference(const StoredReference& reference) = 0;
  // nullopt when none is set.
  virtual absl::StatusOr<std::optional<StoredReference>> GetReference(const std::string& model,
                                                                      int64_t version) = 0;

  virtual absl::Status PutConfig(const std::string& model, const std::string& config,
                                 int64_t updated_at_micros) = 0;
  virtual absl::StatusOr<std::optional<std::string>> GetConfig(const std::string& model) = 0;

  virtual absl::Status PutPolicy(const StoredPolicy& policy, int64_t updated_at_micros) = 0;
  // Ordered by (model, name), after (after_model, after_name); `model` empty = all.
  virtual absl::StatusOr<std::vector<StoredPolicy>> ListPolicies(const std::string& model,
                                                                 const std::string& after_model,
                                                                 const std::string& after_name,
                                                                 int limit) = 0;
  // The stored policy (to keep created_at), nullopt when absent.
  virtual absl::StatusOr<std::optional<StoredPolicy>> GetPolicy(const std::string& model,
                                                                const std::string& name) = 0;
  // false when there was no such policy.
  virtual absl::StatusOr<bool> DeletePolicy(const std::string& model, const std::string& name) = 0;

  // Appends rows (one COPY).
  virtual absl::Status AppendPredictions(const std::vector<PredictionLogRow>& rows) = 0;
};

}  // namespace mlops::monitoring
