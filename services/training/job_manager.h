#pragma once
// JobManager: the training job runner of one replica. Validates and persists
// submitted jobs (QUEUED) and runs jobs on a bounded pool of worker threads
// (JobExecution per job). Several replicas may share one database: a worker
// claims a job through the store (JobStore::ClaimJob: atomic, oldest first,
// QUEUED or RUNNING with a free or expired lease), a keeper thread renews
// the leases of the jobs this replica runs, and every write of a running
// job is fenced by its lease. A replica that dies (kill -9) stops renewing;
// once its lease expires another replica claims the job and resumes it (its
// interrupted trials are closed, recorded in the job's claim history, and
// run again, each counted once). A lease lost to another replica interrupts
// the local execution without writing; a job cancelled on another replica
// is cancelled here at the next renewal. Stop() (drain) interrupts running
// jobs, which stay RUNNING, and releases their leases so that another
// replica (or the next start) takes them at once. Does not own its
// collaborators. Thread-safe.

#include <atomic>
#include <chrono>
#include <cstdint>
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
  // This replica's name in leases; unique among live replicas. "" = host
  // name, pid and a random suffix.
  std::string replica_id;
  // A claim lasts this long unless renewed (renewed every lease_ttl / 4).
  std::chrono::milliseconds lease_ttl{20000};
  // Idle workers look for claimable jobs (other replicas' submissions,
  // expired leases) this often; a local submit wakes one at once.
  std::chrono::milliseconds claim_poll{1000};
};

// This host's name, the pid and a random suffix (a default replica id).
std::string DefaultReplicaId();

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

  // Starts the workers (which claim unfinished jobs) and the lease keeper.
  // Call once.
  absl::Status Start();
  // Interrupts running jobs (they stay RUNNING), joins the threads and
  // releases this replica's leases.
  void Stop();
  bool draining() const { return draining_.load(); }
  const std::string& replica_id() const { return replica_id_; }
  // The job's claim history as lines for watchers ("claim 2 by r2: lease
  // of r1 expired 312 ms before this claim"), oldest first.
  absl::StatusOr<std::vector<std::string>> ClaimHistory(const std::string& job_id);

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
  // The flags of a job this replica runs.
  struct RunningJob {
    std::shared_ptr<std::atomic<bool>> cancel;
    std::shared_ptr<std::atomic<bool>> interrupt;
  };

  void Wake();
  void WorkerLoop();
  void RunClaimed(const JobClaim& claim);
  void LeaseKeeperLoop();
  void Notify();
  void RefreshGauges();

  JobDeps deps_;
  JobManagerOptions options_;
  const std::string replica_id_;
  std::atomic<bool> draining_{false};

  mutable absl::Mutex mu_;
  int wakeups_ ABSL_GUARDED_BY(mu_) = 0;  // local submits not yet looked for
  std::map<std::string, RunningJob> running_ ABSL_GUARDED_BY(mu_);
  uint64_t changes_ ABSL_GUARDED_BY(mu_) = 0;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool released_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
  std::thread lease_keeper_;
};

}  // namespace mlops::training
