#include "services/training/metrics.h"

#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"

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

const char* JobStateLabel(JobState s) {
  switch (s) {
    case JobState::kQueued: return "queued";
    case JobState::kRunning: return "running";
    case JobState::kSucceeded: return "succeeded";
    case JobState::kFailed: return "failed";
    case JobState::kCancelled: return "cancelled";
    case JobState::kUnspecified: break;
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
  jobs_ = &prometheus::BuildGauge()
               .Name("mlops_training_jobs")
               .Help("Training jobs by state.")
               .Register(registry);
  for (JobState s : {JobState::kQueued, JobState::kRunning, JobState::kSucceeded, JobState::kFailed,
                     JobState::kCancelled}) {
    jobs_->Add({{"state", JobStateLabel(s)}});
  }
  queue_depth_ = &prometheus::BuildGauge()
                      .Name("mlops_training_job_queue_depth")
                      .Help("Jobs waiting for a worker of this replica.")
                      .Register(registry)
                      .Add({});
  trial_seconds_ = &prometheus::BuildHistogram()
                        .Name("mlops_training_trial_duration_seconds")
                        .Help("Wall time of job trials, by outcome.")
                        .Register(registry);
}

void TrainingMetrics::SetJobCounts(const std::map<JobState, int64_t>& counts) {
  for (JobState s : {JobState::kQueued, JobState::kRunning, JobState::kSucceeded, JobState::kFailed,
                     JobState::kCancelled}) {
    auto it = counts.find(s);
    jobs_->Add({{"state", JobStateLabel(s)}}).Set(it == counts.end() ? 0 : static_cast<double>(it->second));
  }
}

void TrainingMetrics::ObserveTrial(RunStatus status, double seconds) {
  const prometheus::Histogram::BucketBoundaries kBuckets = {0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 14400};
  trial_seconds_->Add({{"outcome", StatusLabel(status)}}, kBuckets).Observe(seconds);
}

void TrainingMetrics::CountRun(RunStatus status) {
  runs_->Add({{"status", StatusLabel(status)}}).Increment();
}

}  // namespace mlops::training
