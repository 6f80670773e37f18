#pragma once
// The training service's own metric families (STYLE.md §6), created once in
// main and injected. Thread-safe (prometheus-cpp metrics are).

#include <map>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/training/job_store.h"
#include "services/training/tracking_store.h"

namespace mlops::training {

class TrainingMetrics {
 public:
  // Registers the families in `registry` (which must outlive this).
  explicit TrainingMetrics(prometheus::Registry& registry);

  // Metric points stored by LogMetrics.
  void AddMetricPoints(int64_t n) { points_->Increment(static_cast<double>(n)); }
  // A run started (status RUNNING) or ended with `status`.
  void CountRun(RunStatus status);
  // Artifact bytes stored (before de-duplication).
  void AddArtifactBytes(int64_t n) { artifact_bytes_->Increment(static_cast<double>(n)); }
  // Jobs by state (the whole table's counts) and jobs waiting for a worker.
  void SetJobCounts(const std::map<JobState, int64_t>& counts);
  void SetQueueDepth(std::size_t n) { queue_depth_->Set(static_cast<double>(n)); }
  // A trial ended with `status` after `seconds`.
  void ObserveTrial(RunStatus status, double seconds);

 private:
  prometheus::Counter* points_;
  prometheus::Family<prometheus::Counter>* runs_;
  prometheus::Counter* artifact_bytes_;
  prometheus::Family<prometheus::Gauge>* jobs_;
  prometheus::Gauge* queue_depth_;
  prometheus::Family<prometheus::Histogram>* trial_seconds_;
};

}  // namespace mlops::training
