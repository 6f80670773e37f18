#pragma once
// BatchJobRunner: runs one batch scoring job end to end. Loads the model
// version, reads the input version chunk by chunk (only the columns it
// needs) from the ingestion service, or, when inputs are fetched
// point-in-time, from the feature service's GetHistoricalFeatures over that
// version (its columns joined with each fetched feature as of the row's
// event time; the view versions used join the output's lineage), scores each chunk as one matrix, streams the
// output rows into one IngestBatch (REPLACE, idempotency key = job id, so a
// job run again after a restart never makes a second version), and records
// state, progress and rows/s in the BatchJobStore. Thread-safe: one Run per
// job at a time; owns nothing.

#include <atomic>
#include <cstdint>
#include <functional>

#include "services/gateway/batch_features_client.h"
#include "services/gateway/batch_job.h"
#include "services/gateway/batch_plan.h"
#include "services/gateway/ingestion_client.h"
#include "services/gateway/model_runtime.h"

namespace mlops::gateway {

struct BatchRunnerOptions {
  // How often progress (rows scored, rows/s) is saved while running.
  int64_t progress_interval_micros = 500'000;
  std::function<int64_t()> now_micros;
  // Not owned; null: POINT_IN_TIME jobs fail (FAILED_PRECONDITION).
  BatchFeaturesClient* features = nullptr;
};

class BatchJobRunner {
 public:
  // None owned.
  BatchJobRunner(ModelCache* models, IngestionClient* ingestion, BatchJobStore* store,
                 BatchRunnerOptions options);

  // Runs `job` to SUCCEEDED or FAILED (with the reason, naming the column or
  // row when one caused it) and returns it as saved. When `stop` becomes true
  // it gives up between chunks and leaves the job RUNNING in the store (the
  // next gateway start runs it again).
  BatchJob Run(BatchJob job, const std::atomic<bool>& stop);

 private:
  absl::Status Execute(BatchJob& job, const std::atomic<bool>& stop);
  absl::Status EnsureOutputDataset(const BatchJob& job, const BatchPlan& plan);
  void SaveProgress(BatchJob& job, bool force);

  ModelCache* const models_;
  IngestionClient* const ingestion_;
  BatchJobStore* const store_;
  const BatchRunnerOptions options_;
  int64_t last_saved_micros_ = 0;  // per Run (one Run at a time)
};

}  // namespace mlops::gateway
