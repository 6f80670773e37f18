#pragma once
// JobExecution: runs one training job from QUEUED (or an interrupted
// RUNNING) to its end: pins the inputs and builds the training set through
// the peers (retrying UNAVAILABLE with backoff), runs the trials on a
// bounded set of threads (each trial a tracked run: params, metrics per
// round, pinned inputs, the model artifact), keeps the best trial's model
// and signature, registers it when asked, and persists every step (state
// changes forward-only). Owned by the JobManager worker that runs it; Run()
// is called once. The job proto it keeps is guarded by a mutex because
// trials update it from several threads.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "mlops/training/v1/training.pb.h"
#include "services/training/command_trial.h"
#include "services/training/hyper_search.h"
#include "services/training/job_profile.h"
#include "services/training/job_store.h"
#include "services/training/metrics.h"
#include "services/training/peer_clients.h"
#include "services/training/run_log_store.h"
#include "services/training/tracking.h"
#include "services/training/training_data.h"
#include "services/training/training_set.h"
#include "services/training/xgb_trainer.h"

namespace mlops::training {

// What jobs need; owned by main (or the test). registrar, metrics and
// run_logs may be null.
struct JobDeps {
  JobStore* store = nullptr;
  Tracking* tracking = nullptr;
  TrainingDataSource* data = nullptr;
  ModelRegistrar* registrar = nullptr;
  TrainingMetrics* metrics = nullptr;
  // Command trainers; null (or a null executor): they fail "not enabled".
  const CommandSettings* command = nullptr;
  // Where command trainers' output lines go while they run (WatchRun reads
  // them); null: only the logs/*.txt artifacts at the end.
  RunLogStore* run_logs = nullptr;
};

struct JobRunOptions {
  int max_parallel_trials = 2;  // per job, whatever the spec asks
  RetryPolicy retry;            // max_retries is replaced by the spec's
  // The replica holding the job's lease: every write is fenced by it (a
  // lost lease interrupts the job). "" = unfenced writes.
  std::string lease_owner;
  // Why a RUNNING job is run again (the claim's note), for the failure
  // reason of the trials the previous holder left running.
  std::string resume_note;
};

class JobExecution {
 public:
  // `cancel` is set by CancelJob; `interrupt` by shutdown or when the
  // job's lease is lost (here, or by the runner's renewal): the job then
  // stays RUNNING, unwritten, and whoever claims it next resumes it;
  // `notify` is called after each persisted change (for watchers).
  JobExecution(JobDeps deps, JobRunOptions options, v1::TrainingJob job,
               std::shared_ptr<std::atomic<bool>> cancel, std::shared_ptr<std::atomic<bool>> interrupt,
               std::function<void()> notify);

  void Run();

 private:
  // The training set with what the model signature and lineage need.
  struct Prepared {
    TrainingSet set;
    int label_type = 0;
    int entity_key_type = 0;
  };

  bool Stopping() const { return cancel_->load() || interrupt_->load(); }
  int64_t Now() const { return deps_.tracking->Now(); }
  // Writes the job if its stored state is one of `from` (and, with a lease
  // owner, the lease is still held); a FailedPrecondition means someone
  // else (CancelJob) moved it: the cancel flag is set; Aborted means the
  // lease was lost: the interrupt flag is set.
  absl::Status Persist(const std::vector<JobState>& from) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Start();
  // job_execution_resume.cc: on a resumed job, keeps the trials the
  // previous holder finished (those whose params are still the plan's for
  // their index), ends the runs of the others, and restores the best of the
  // kept ones (its artifact read back from tracking).
  void KeepFinishedTrials(const std::string& reason) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status RestoreBest() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Prepared> Prepare();
  struct Blocks {
    DenseBlock train, validation, test;
  };
  TrialResult RunTrial(int index, const TrialParams& params, const Blocks& blocks,
                       MedianStopper* stopper);
  // What a trial's trainer produced: the outcome, where the model goes, and
  // (commands) the metrics the program logged itself.
  struct TrialModel {
    TrainOutcome outcome;
    std::string path = "model/model.json";
    std::string content_type = "application/json";
    bool xgboost = true;
    std::map<std::string, double> logged;
  };
  // job_execution_command.cc: runs the command, stores its logs as
  // artifacts; an error status carries the failure reason.
  absl::StatusOr<TrialModel> RunCommandTrial(const v1::TrainingJob& job, const std::string& run_id,
                                             const TrialParams& params, const Blocks& blocks);
  void UpdateTrial(const v1::TrialSummary& trial);
  void Finish(v1::JobState state, const std::string& reason);
  // Registers the best model; when a stage is asked for, first evaluates
  // the model's production version on `test` (champion_evaluation.h).
  absl::Status Register(const Prepared& data, const DenseBlock& test);
  // job_execution_register.cc: the champion's evaluation on the job's test
  // split, logged; never fails the job.
  void EvaluateChampion(const v1::TrainingJob& job, int64_t candidate_version,
                        const Prepared& data, const DenseBlock& test);
  // Ends the run of a trial and records the outcome.
  TrialResult EndTrial(v1::TrialSummary* trial, RunStatus status, const std::string& reason,
                       std::chrono::steady_clock::time_point started);
  absl::Status WithRetries(const std::string& what, const std::function<absl::Status()>& fn);

  JobDeps deps_;
  JobRunOptions options_;
  std::shared_ptr<std::atomic<bool>> cancel_;
  std::shared_ptr<std::atomic<bool>> interrupt_;
  std::function<void()> notify_;
  const std::string job_id_;

  absl::Mutex mu_;
  v1::TrainingJob job_ ABSL_GUARDED_BY(mu_);
  std::string best_model_ ABSL_GUARDED_BY(mu_);  // the best trial's artifact bytes
  TrialParams best_params_ ABSL_GUARDED_BY(mu_);
  int best_index_ ABSL_GUARDED_BY(mu_) = 0;
  bool best_is_xgboost_ ABSL_GUARDED_BY(mu_) = true;
  // Trials finished before a restart or takeover, by index, with their
  // outcome: not run again. Written by Start before any trial runs,
  // read-only afterwards.
  std::map<int, TrialResult> finished_trials_;
  // Where this run of the job spent its time (logged at the end as
  // training_job_profile).
  JobProfile profile_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mlops::training
