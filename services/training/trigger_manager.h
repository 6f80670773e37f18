#pragma once
// TriggerManager: pipeline triggers, the job templates that start training
// jobs with a recorded cause. Creates and lists triggers (kept in the
// JobStore), fires them (FireTrigger: by name, or every MONITORING_ALERT
// trigger of a model, idempotent per (trigger, key)), and runs the schedule:
// a background thread that fires SCHEDULE triggers when they are due (of
// several replicas on one database, the one that claims a tick in the
// JobStore fires it; the others skip it). Each
// fire's outcome is STARTED, DEDUPLICATED, or SKIPPED (paused, cooldown, a
// previous job still running). Does not own its collaborators. Thread-safe
// (fires are serialized by one mutex).

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "mlops/training/v1/training.pb.h"
#include "services/training/job_manager.h"
#include "services/training/job_store.h"

namespace mlops::training {

struct TriggerPage {
  std::vector<v1::PipelineTrigger> triggers;
  std::string next_page_token;
};

struct TriggerManagerOptions {
  // How often the scheduler looks for due SCHEDULE triggers.
  absl::Duration schedule_poll = absl::Seconds(5);
  // A schedule tick claimed by a replica that did not finish firing it
  // (it died) may be claimed by another after this long.
  std::chrono::milliseconds tick_claim_timeout{60000};
};

class TriggerManager {
 public:
  TriggerManager(JobStore* store, JobManager* jobs, Tracking* tracking,
                 TriggerManagerOptions options = {});
  ~TriggerManager();  // StopScheduler()

  absl::StatusOr<v1::PipelineTrigger> Create(v1::PipelineTrigger trigger, const std::string& principal);
  absl::StatusOr<TriggerPage> List(const v1::ListPipelineTriggersRequest& request);
  absl::StatusOr<v1::FireTriggerResponse> Fire(const v1::FireTriggerRequest& request,
                                               const std::string& principal);

  // Fires every SCHEDULE trigger due at `now_micros` (the scheduler's tick;
  // public so tests can drive time). Returns the results of the ticks this
  // replica claimed (a tick another replica claimed is not in them).
  absl::StatusOr<std::vector<v1::FiredTrigger>> FireDueSchedules(int64_t now_micros);

  // Fires every NEW_DATASET_VERSION trigger that follows `dataset` for its
  // new version (de-duplicated per (trigger, version id): a repeated
  // delivery starts no second job).
  absl::StatusOr<std::vector<v1::FiredTrigger>> FireForDatasetVersion(const std::string& dataset,
                                                                      const std::string& version_id);

  void StartScheduler();
  void StopScheduler();

 private:
  // One trigger, one fire. `key` = the de-duplication key ("" = none).
  absl::StatusOr<v1::FiredTrigger> FireOne(v1::PipelineTrigger trigger, v1::TriggerCause cause,
                                           const std::string& key, const std::string& dataset_version_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(fire_mu_);
  absl::Status Save(const v1::PipelineTrigger& trigger);

  JobStore* store_;
  JobManager* jobs_;
  Tracking* tracking_;
  TriggerManagerOptions options_;
  absl::Mutex fire_mu_;
  absl::Mutex stop_mu_;
  bool stop_ ABSL_GUARDED_BY(stop_mu_) = false;
  std::thread scheduler_;
};

}  // namespace mlops::training
