#pragma once
// A batch scoring job as the gateway keeps it (plain structs, no protos), and
// BatchJobStore, where jobs are persisted so that a restarted gateway picks
// up the unfinished ones. Implementations are thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace mlops::gateway {

// Numbered as inference.v1.BatchJobState; only moves forward.
enum class BatchState { kQueued = 1, kRunning = 2, kSucceeded = 3, kFailed = 4 };

// What was asked (the parameters an idempotency key pins).
struct BatchJobSpec {
  std::string model;
  int64_t version = 0;  // pinned at submission (never 0 once stored)
  std::string input_dataset_version;
  int feature_source = 1;  // inference.v1.BatchFeatureSource
  std::string output_dataset;
  std::vector<std::string> passthrough_columns;  // empty: the input's entity key / timestamp
  std::string output_prefix;                     // empty: "prediction"
  std::string idempotency_key;

  bool operator==(const BatchJobSpec& o) const {
    return model == o.model && version == o.version &&
           input_dataset_version == o.input_dataset_version &&
           feature_source == o.feature_source && output_dataset == o.output_dataset &&
           passthrough_columns == o.passthrough_columns && output_prefix == o.output_prefix &&
           idempotency_key == o.idempotency_key;
  }
};

struct BatchJob {
  std::string job_id;  // "bsj-<16 hex>"
  BatchJobSpec spec;
  BatchState state = BatchState::kQueued;
  std::string output_dataset_version;
  int64_t rows_total = 0;
  int64_t rows_scored = 0;
  double rows_per_second = 0;
  int64_t submitted_at_micros = 0;
  int64_t started_at_micros = 0;
  int64_t finished_at_micros = 0;
  std::string submitted_by;
  std::string error;
  int attempts = 0;  // runs started (a restart during a run starts another)
};

class BatchJobStore {
 public:
  virtual ~BatchJobStore() = default;
  // Stores a new job. AlreadyExists when its idempotency key is taken.
  virtual absl::Status Insert(const BatchJob& job) = 0;
  // NotFound for an unknown id.
  virtual absl::StatusOr<BatchJob> Get(const std::string& job_id) = 0;
  virtual absl::StatusOr<std::optional<BatchJob>> FindByIdempotencyKey(const std::string& key) = 0;
  // Overwrites the job's state, progress, times, error and attempts.
  virtual absl::Status Update(const BatchJob& job) = 0;
  // QUEUED and RUNNING jobs, oldest first.
  virtual absl::StatusOr<std::vector<BatchJob>> ListUnfinished() = 0;
};

}  // namespace mlops::gateway
