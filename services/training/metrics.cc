#include "services/training/metrics.h"

#include "prometheus/counter.h"

namespace mlops::training {
namespace {

const char* StatusLabel(RunStatus s) {
  switch (s) {
    case RunStatus::kQueued: return "queued";
    case RunStatus::kRunning: return "running";
    case RunStatus::kSucceeded: return "succeeded";
    case RunStatus::kFailed: return "failed";
    case RunStatus::kCancelled: return "cancelled";
    case RunStatus::kStoppedEarly: return "stopped_early";
    case RunStatus::kUnspecified: break;
  }
  return "unspecified";
}

}  // namespace

TrainingMetrics::TrainingMetrics(prometheus::Registry& registry) {
  points_ = &prometheus::BuildCounter()
                 .Name("mlops_training_metric_points_total")
                 .Help("Metric points stored through LogMetrics.")
                 .Register(registry)
                 .Add({});
  runs_ = &prometheus::BuildCounter()
               .Name("mlops_training_runs_total")
               .Help("Run status changes: runs started (running) and ended, by status.")
               .Register(registry);
  artifact_bytes_ = &prometheus::BuildCounter()
                         .Name("mlops_training_artifact_bytes_total")
                         .Help("Bytes of artifacts uploaded (before de-duplication).")
                         .Register(registry)
                         .Add({});
}

void TrainingMetrics::CountRun(RunStatus status) {
  runs_->Add({{"status", StatusLabel(status)}}).Increment();
}

}  // namespace mlops::training
