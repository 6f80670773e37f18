#pragma once
// JobManager: the training job runner. Validates and persists submitted jobs
// (QUEUED), runs them on a bounded pool of worker threads (JobExecution per
// job), cancels them, answers Get/List, and lets watchers wait for changes.
// On Start() it re-queues the jobs a previous process left QUEUED or
// RUNNING (never lost; a RUNNING job's interrupted trials are closed and the
// job runs its trials again, each counted once). Stop() (drain) interrupts
// running jobs, which stay RUNNING for the next start. Does not own its
// collaborators. Thread-safe.

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "mlops/training/v1/training.pb.h"
#include "services/training/job_execution.h"

namespace mlops::training {

struct JobManagerOptions {
  int max_concurrent_jobs = 2;   // worker threads
  int max_parallel_trials = 2;   // per job
  RetryPolicy retry;
};

struct JobPage {
  std::vector<v1::TrainingJob> jobs;
  std::string next_page_token;
};

class JobManager {
 public:
  JobManager(JobDeps deps, JobManagerOptions options);
  ~JobManager();  // Stop()
  JobManager(const JobManager&) = delete;
  JobManager& operator=(const JobManager&) = delete;

  // Re-queues unfinished jobs and starts the workers. Call once.
  absl::Status Start();
  // Interrupts running jobs (they stay RUNNING) and joins the workers.
  void Stop();
  bool draining() const { return draining_.load(); }

  // Validates (shape, then dataset / label / feature views through the
  // peers), persists and queues. `cause` and `trigger_name` say what started
  // it. Idempotency: the same key and spec returns the first job; another
  // spec is AlreadyExists.
  absl::StatusOr<v1::TrainingJob> Submit(const v1::TrainingJobSpec& spec,
                                         const std::string& idempotency_key,
                                         const std::string& principal, const v1::TriggerCause& cause,
                                         const std::string& trigger_name);
  // The checks of Submit without persisting (trigger templates).
  absl::Status CheckSpec(const v1::TrainingJobSpec& spec);
  absl::StatusOr<v1::TrainingJob> Get(const std::string& job_id);
  absl::StatusOr<JobPage> List(const std::string& experiment, const std::vector<JobState>& states,
                               const std::string& trigger_name, const std::string& page_token,
                               int page_size);
  absl::StatusOr<v1::TrainingJob> Cancel(const std::string& job_id, const std::string& reason);

  // A counter that grows with every persisted job change; WaitForChange
  // blocks until it exceeds `seen`, the timeout passes or a drain starts.
  uint64_t change_count() const;
  uint64_t WaitForChange(uint64_t seen, absl::Duration timeout);

 private:
  void Enqueue(const std::string& job_id);
  void WorkerLoop();
  void RunOne(const std::string& job_id);
  void Notify();
  void RefreshGauges();

  JobDeps deps_;
  JobManagerOptions options_;
  std::atomic<bool> draining_{false};

  mutable absl::Mutex mu_;
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::shared_ptr<std::atomic<bool>>> running_ ABSL_GUARDED_BY(mu_);
  uint64_t changes_ ABSL_GUARDED_BY(mu_) = 0;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

}  // namespace mlops::training
