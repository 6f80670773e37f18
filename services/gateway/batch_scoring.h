#pragma once
// BatchScoring: the batch scoring jobs of one gateway. Submit checks a job
// (names, the model version — version 0 pinned to the current production
// one —, the input version, the input's columns against the model's
// signature, for POINT_IN_TIME the input's entity key and event timestamp
// columns and the fetched features' views and types, an existing output
// dataset's schema), persists it QUEUED and
// hands it to one background worker with a bounded queue, which runs jobs one
// at a time through BatchJobRunner. Restore() picks up what a previous
// process left: QUEUED jobs and RUNNING ones (run again from the start; the
// output write is idempotent by job id), giving up after `max_attempts` runs.
// Thread-safe; owns the worker.

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "services/gateway/batch_job.h"
#include "services/gateway/batch_runner.h"
#include "services/gateway/bounded_worker.h"
#include "services/gateway/endpoint_manager.h"
#include "services/gateway/ingestion_client.h"
#include "services/gateway/model_runtime.h"

namespace mlops::gateway {

struct BatchScoringOptions {
  std::size_t queue_capacity = 16;  // jobs waiting to run
  int max_attempts = 3;             // runs of one job (restarts included)
  BatchRunnerOptions runner;
  std::function<std::string()> new_job_id;  // "bsj-<16 hex>"
};

class BatchScoring {
 public:
  // None owned. `models` loads versions for batch jobs (its own cache, so
  // jobs never evict what endpoints serve); `registry` resolves version 0.
  BatchScoring(ModelCache* models, EndpointDirectory* registry, IngestionClient* ingestion,
               BatchJobStore* store, BatchScoringOptions options);
  ~BatchScoring();
  BatchScoring(const BatchScoring&) = delete;
  BatchScoring& operator=(const BatchScoring&) = delete;

  // Errors as inference.proto's SubmitBatchScoring; ResourceExhausted when
  // the queue is full. A reused idempotency key returns the first job.
  absl::StatusOr<BatchJob> Submit(BatchJobSpec spec, const std::string& principal);
  absl::StatusOr<BatchJob> Get(const std::string& job_id);

  // Queues the unfinished jobs of the store (call once, at startup).
  absl::Status Restore();
  // Stops the worker: a running job is left RUNNING (resumed at the next
  // start), queued ones stay QUEUED. Idempotent.
  void Stop();
  // Blocks until no job is queued or running (tests, benchmark).
  void Drain();

 private:
  absl::Status Check(const BatchJobSpec& spec);
  bool Enqueue(const std::string& job_id);
  void RunJob(const std::string& job_id);

  ModelCache* const models_;
  EndpointDirectory* const registry_;
  IngestionClient* const ingestion_;
  BatchJobStore* const store_;
  const BatchScoringOptions options_;
  BatchJobRunner runner_;
  std::atomic<bool> stop_{false};
  std::mutex worker_mu_;
  std::unique_ptr<BoundedWorker> worker_;  // null once stopped; guarded by worker_mu_
};

}  // namespace mlops::gateway
