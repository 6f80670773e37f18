#pragma once
// PgJobStore: JobStore over the "training" schema (migrations/0003_jobs.sql;
// leases: 0004_job_leases_and_run_logs.sql).
// Forward-only job states are enforced in the UPDATE's WHERE clause. Does not
// own the pool. Thread-safe (the pool is).

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/db/pg_pool.h"
#include "services/training/job_store.h"

namespace mlops::training {

class PgJobStore final : public JobStore {
 public:
  explicit PgJobStore(PgPool* pool) : pool_(pool) {}

  absl::StatusOr<JobRow> CreateJob(const JobRow& job, bool* created) override;
  absl::StatusOr<JobRow> GetJob(const std::string& id) override;
  absl::Status UpdateJob(const std::string& id, JobState state, const std::string& payload,
                         const std::vector<JobState>& from) override;
  absl::StatusOr<std::vector<JobRow>> ListJobs(const JobListFilter& filter) override;
  absl::StatusOr<std::vector<JobRow>> JobsInStates(const std::vector<JobState>& states) override;
  absl::StatusOr<std::map<JobState, int64_t>> CountJobsByState() override;

  absl::StatusOr<std::optional<JobClaim>> ClaimJob(const std::string& owner,
                                                   std::chrono::milliseconds ttl) override;
  absl::StatusOr<std::map<std::string, JobState>> RenewLeases(const std::string& owner,
                                                              const std::vector<std::string>& ids,
                                                              std::chrono::milliseconds ttl) override;
  absl::Status ReleaseLeases(const std::string& owner) override;
  absl::StatusOr<LeasedWrite> UpdateLeasedJob(const std::string& id, const std::string& owner, JobState state,
                                              const std::string& payload,
                                              const std::vector<JobState>& from) override;
  absl::StatusOr<std::vector<JobClaimRecord>> JobClaims(const std::string& id) override;

  absl::Status CreateTrigger(const TriggerRow& trigger) override;
  absl::StatusOr<TriggerRow> GetTrigger(const std::string& name) override;
  absl::Status UpdateTrigger(const TriggerRow& trigger) override;
  absl::StatusOr<std::vector<TriggerRow>> ListTriggers(const TriggerListFilter& filter) override;
  absl::StatusOr<std::optional<std::string>> FindFire(const std::string& trigger,
                                                      const std::string& key) override;
  absl::Status RecordFire(const std::string& trigger, const std::string& key,
                          const std::string& job_id, int64_t at_micros) override;
  absl::StatusOr<bool> ClaimTick(const std::string& trigger, int64_t due_micros, const std::string& owner,
                                 std::chrono::milliseconds stale_after) override;
  absl::Status FinishTick(const std::string& trigger, int64_t due_micros, const std::string& owner) override;

 private:
  PgPool* pool_;
};

}  // namespace mlops::training
