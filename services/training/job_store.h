#pragma once
// Persistence of training jobs and pipeline triggers. A job is kept as a row
// with the fields that are filtered and ordered on (state, experiment,
// trigger, idempotency key, creation time) plus an opaque payload (the
// service layer stores the serialized TrainingJob there). State changes only
// move forward: every update names the states it may start from and fails
// FailedPrecondition when the row is in another one. Implementations are
// thread-safe. PgJobStore implements it over Postgres.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mlops::training {

// Values equal the proto's JobState numbers.
enum class JobState { kUnspecified = 0, kQueued = 1, kRunning = 2, kSucceeded = 3, kFailed = 4, kCancelled = 5 };

inline bool IsTerminal(JobState s) {
  return s == JobState::kSucceeded || s == JobState::kFailed || s == JobState::kCancelled;
}

struct JobRow {
  std::string id;
  JobState state = JobState::kQueued;
  std::string experiment;
  std::string trigger_name;      // "" for a direct submit
  std::string idempotency_key;   // "" = none
  std::string spec_fingerprint;  // sha256 of the spec, for idempotent retries
  int64_t created_at_micros = 0;
  std::string payload;
};

// A job claimed by a replica (JobStore::ClaimJob).
struct JobClaim {
  JobRow job;
  int attempt = 1;             // 1 = the job's first claim
  std::string previous_owner;  // "" for the first claim
  // Why the job was free: "first claim", "lease of <owner> expired ...",
  // "released by <owner>" (a draining replica). Also kept in the history.
  std::string note;
};

// One entry of a job's claim history, oldest first.
struct JobClaimRecord {
  int attempt = 0;
  std::string owner;
  int64_t claimed_at_micros = 0;
  std::string previous_owner;
  std::string note;
};

// What a leased write did.
enum class LeasedWrite { kWritten, kWrongState, kLeaseLost };

struct JobListFilter {
  std::string experiment;
  std::vector<JobState> states;
  std::string trigger_name;
  // Page cursor: jobs strictly older than (created_at, id).
  std::optional<std::pair<int64_t, std::string>> before;
  int limit = 100;
};

struct TriggerRow {
  std::string name;
  int kind = 0;  // the proto's TriggerKind number
  std::string model_name;
  std::string dataset;
  int64_t created_at_micros = 0;
  std::string payload;  // the serialized PipelineTrigger
};

struct TriggerListFilter {
  int kind = 0;  // 0 = any
  std::string model_name;
  std::string dataset;
  std::string after_name;
  int limit = 100;
};

class JobStore {
 public:
  virtual ~JobStore() = default;

  // Inserts the job. With an idempotency key already used: returns the
  // stored job (the caller compares fingerprints), created = false.
  virtual absl::StatusOr<JobRow> CreateJob(const JobRow& job, bool* created) = 0;
  virtual absl::StatusOr<JobRow> GetJob(const std::string& id) = 0;
  // Writes state and payload if the stored state is one of `from`, else
  // FailedPrecondition naming the stored state. NotFound: no such job.
  virtual absl::Status UpdateJob(const std::string& id, JobState state, const std::string& payload,
                                 const std::vector<JobState>& from) = 0;
  // Newest first. NotFound: an experiment filter naming an unknown experiment.
  virtual absl::StatusOr<std::vector<JobRow>> ListJobs(const JobListFilter& filter) = 0;
  // Every job in one of `states`, oldest first (restart recovery).
  virtual absl::StatusOr<std::vector<JobRow>> JobsInStates(const std::vector<JobState>& states) = 0;
  virtual absl::StatusOr<std::map<JobState, int64_t>> CountJobsByState() = 0;

  // Leases (several replicas on one database; times are the database's).
  // Atomically claims the oldest QUEUED or RUNNING job whose lease is free
  // or expired, for `owner` until now + ttl, and records the claim in the
  // job's history. Two concurrent callers never get the same job.
  // nullopt: nothing to claim.
  virtual absl::StatusOr<std::optional<JobClaim>> ClaimJob(const std::string& owner,
                                                           std::chrono::milliseconds ttl) = 0;
  // Extends `owner`'s leases on `ids` to now + ttl. Returns the jobs whose
  // lease `owner` still holds, with their state (a job missing from the
  // answer was taken over: its lease is lost).
  virtual absl::StatusOr<std::map<std::string, JobState>> RenewLeases(
      const std::string& owner, const std::vector<std::string>& ids, std::chrono::milliseconds ttl) = 0;
  // Frees every lease `owner` holds on an unfinished job (a drain), so that
  // another replica may claim the job at once.
  virtual absl::Status ReleaseLeases(const std::string& owner) = 0;
  // UpdateJob for the lease holder: writes only while `owner` holds the
  // job's lease (kLeaseLost otherwise) and the state is one of `from`
  // (kWrongState otherwise). NotFound: no such job.
  virtual absl::StatusOr<LeasedWrite> UpdateLeasedJob(const std::string& id, const std::string& owner,
                                                      JobState state, const std::string& payload,
                                                      const std::vector<JobState>& from) = 0;
  virtual absl::StatusOr<std::vector<JobClaimRecord>> JobClaims(const std::string& id) = 0;

  // AlreadyExists if the name is taken.
  virtual absl::Status CreateTrigger(const TriggerRow& trigger) = 0;
  virtual absl::StatusOr<TriggerRow> GetTrigger(const std::string& name) = 0;
  virtual absl::Status UpdateTrigger(const TriggerRow& trigger) = 0;
  // By name.
  virtual absl::StatusOr<std::vector<TriggerRow>> ListTriggers(const TriggerListFilter& filter) = 0;
  // The job a (trigger, key) fire started, if any.
  virtual absl::StatusOr<std::optional<std::string>> FindFire(const std::string& trigger,
                                                              const std::string& key) = 0;
  // AlreadyExists when the (trigger, key) pair was recorded before.
  virtual absl::Status RecordFire(const std::string& trigger, const std::string& key,
                                  const std::string& job_id, int64_t at_micros) = 0;
  // Claims the SCHEDULE tick (trigger, due time) for `owner`, so that of
  // several replicas ticking together exactly one fires it. True when this
  // call made the claim, or took over a claim left unfinished (its replica
  // died) for longer than `stale_after`; false when another replica holds
  // or finished it. Times are the database's.
  virtual absl::StatusOr<bool> ClaimTick(const std::string& trigger, int64_t due_micros,
                                         const std::string& owner, std::chrono::milliseconds stale_after) = 0;
  // Marks `owner`'s claimed tick fired (no later takeover).
  virtual absl::Status FinishTick(const std::string& trigger, int64_t due_micros, const std::string& owner) = 0;
};

}  // namespace mlops::training
