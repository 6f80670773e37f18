// JobManager's runner half: the workers that claim jobs through leases, the
// lease keeper, start and drain.
#include <unistd.h>

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "services/training/job_manager.h"

namespace mlops::training {

std::string DefaultReplicaId() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof(host), "training");
  std::random_device rd;
  return absl::StrFormat("%s-%d-%08x", host, static_cast<int>(getpid()), rd());
}

absl::Status JobManager::Start() {
  MLOPS_ASSIGN_OR_RETURN(std::vector<JobRow> unfinished,
                         deps_.store->JobsInStates({JobState::kQueued, JobState::kRunning}));
  {
    absl::MutexLock lock(&mu_);
    if (started_) return absl::FailedPreconditionError("JobManager already started");
    started_ = true;
  }
  LogInfo("training_runner_start", {{"replica", replica_id_},
                                    {"unfinished_jobs", absl::StrCat(unfinished.size())},
                                    {"lease_ttl_ms", absl::StrCat(options_.lease_ttl.count())}});
  for (int i = 0; i < std::max(1, options_.max_concurrent_jobs); ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
  lease_keeper_ = std::thread([this] { LeaseKeeperLoop(); });
  RefreshGauges();
  return absl::OkStatus();
}

void JobManager::Stop() {
  draining_.store(true);
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, flags] : running_) flags.interrupt->store(true);
    ++changes_;
  }
  for (std::thread& t : workers_) t.join();
  workers_.clear();
  if (lease_keeper_.joinable()) lease_keeper_.join();
  {
    absl::MutexLock lock(&mu_);
    if (!started_ || released_) return;
    released_ = true;
  }
  // The interrupted jobs stay RUNNING: free their leases so that another
  // replica (or this one's next start) resumes them without waiting.
  absl::Status released = deps_.store->ReleaseLeases(replica_id_);
  if (!released.ok()) LogWarn("training_leases_not_released", {{"replica", replica_id_}, {"status", released.ToString()}});
}

void JobManager::RefreshGauges() {
  if (deps_.metrics == nullptr) return;
  absl::StatusOr<std::map<JobState, int64_t>> counts = deps_.store->CountJobsByState();
  if (!counts.ok()) return;
  deps_.metrics->SetJobCounts(*counts);
  auto queued = counts->find(JobState::kQueued);
  deps_.metrics->SetQueueDepth(queued == counts->end() ? 0 : static_cast<std::size_t>(queued->second));
}

void JobManager::Wake() {
  {
    absl::MutexLock lock(&mu_);
    ++wakeups_;
    ++changes_;
  }
  RefreshGauges();
}

void JobManager::WorkerLoop() {
  bool look_now = true;  // at start, and after a job: there may be more
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto ready = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return wakeups_ > 0 || draining_.load(); };
      if (!look_now) mu_.AwaitWithTimeout(absl::Condition(&ready), absl::FromChrono(options_.claim_poll));
      if (draining_.load()) return;
      if (wakeups_ > 0) --wakeups_;
    }
    look_now = false;
    absl::StatusOr<std::optional<JobClaim>> claim = deps_.store->ClaimJob(replica_id_, options_.lease_ttl);
    if (!claim.ok()) {
      LogWarn("training_claim_failed", {{"replica", replica_id_}, {"status", claim.status().ToString()}});
      continue;
    }
    if (!claim->has_value()) continue;
    RefreshGauges();
    RunClaimed(**claim);
    RefreshGauges();
    look_now = true;
  }
}

void JobManager::RunClaimed(const JobClaim& claim) {
  const std::string& job_id = claim.job.id;
  v1::TrainingJob job;
  if (!job.ParseFromString(claim.job.payload)) {
    LogError("training_job_bad_payload", {{"job", job_id}});
    return;
  }
  RunningJob flags{std::make_shared<std::atomic<bool>>(false), std::make_shared<std::atomic<bool>>(false)};
  {
    absl::MutexLock lock(&mu_);
    // Draining: the lease is released by Stop(). Already running here (our
    // own lease expired and we claimed the job again): never twice.
    if (draining_.load() || running_.count(job_id)) return;
    running_[job_id] = flags;
  }
  LogInfo("training_job_start", {{"job", job_id},
                                 {"replica", replica_id_},
                                 {"claim", absl::StrCat(claim.attempt)},
                                 {"note", claim.note},
                                 {"resumed", claim.job.state == JobState::kRunning ? "true" : "false"}});
  JobRunOptions run_options{options_.max_parallel_trials, options_.retry, replica_id_,
                            absl::StrCat("claim ", claim.attempt, ": ", claim.note)};
  JobExecution execution(deps_, run_options, std::move(job), flags.cancel, flags.interrupt,
                         [this] { Notify(); });
  execution.Run();
  absl::StatusOr<JobRow> after = deps_.store->GetJob(job_id);
  LogInfo("training_job_end", {{"job", job_id},
                               {"replica", replica_id_},
                               {"interrupted", flags.interrupt->load() ? "true" : "false"},
                               {"state", after.ok() ? absl::StrCat(static_cast<int>(after->state)) : "unknown"}});
  absl::MutexLock lock(&mu_);
  running_.erase(job_id);
  ++changes_;
}

void JobManager::LeaseKeeperLoop() {
  const absl::Duration period = absl::FromChrono(std::max(options_.lease_ttl / 4, std::chrono::milliseconds(10)));
  while (true) {
    std::vector<std::string> ids;
    {
      absl::MutexLock lock(&mu_);
      auto stop = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return draining_.load(); };
      mu_.AwaitWithTimeout(absl::Condition(&stop), period);
      if (draining_.load()) return;
      for (const auto& [id, flags] : running_) ids.push_back(id);
    }
    if (ids.empty()) continue;
    absl::StatusOr<std::map<std::string, JobState>> held =
        deps_.store->RenewLeases(replica_id_, ids, options_.lease_ttl);
    if (!held.ok()) {
      // Writes stay fenced: if another replica takes a job over meanwhile,
      // this one's next write finds out.
      LogWarn("training_lease_renewal_failed", {{"replica", replica_id_}, {"status", held.status().ToString()}});
      continue;
    }
    absl::MutexLock lock(&mu_);
    for (const std::string& id : ids) {
      auto it = running_.find(id);
      if (it == running_.end()) continue;
      auto h = held->find(id);
      if (h == held->end()) {
        LogWarn("training_job_lease_lost", {{"job", id}, {"replica", replica_id_}});
        it->second.interrupt->store(true);
      } else if (h->second == JobState::kCancelled) {
        it->second.cancel->store(true);  // cancelled through another replica
      }
    }
  }
}

absl::StatusOr<std::vector<std::string>> JobManager::ClaimHistory(const std::string& job_id) {
  MLOPS_ASSIGN_OR_RETURN(std::vector<JobClaimRecord> claims, deps_.store->JobClaims(job_id));
  std::vector<std::string> out;
  for (const JobClaimRecord& c : claims) {
    out.push_back(absl::StrCat("claim ", c.attempt, " by ", c.owner, ": ", c.note));
  }
  return out;
}

}  // namespace mlops::training
