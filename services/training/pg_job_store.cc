#include "services/training/pg_job_store.h"

#include <chrono>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace mlops::training {
namespace {

constexpr char kInsertJob[] =
    "INSERT INTO training_job (job_id, state, experiment, trigger_name, idempotency_key, "
    "spec_fingerprint, created_at_micros, updated_at_micros, payload) "
    "VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, $7, $7, $8) "
    "ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING";
constexpr char kJobColumns[] =
    "SELECT job_id, state, experiment, trigger_name, coalesce(idempotency_key, ''), "
    "spec_fingerprint, created_at_micros, payload FROM training_job ";
constexpr char kWhereId[] = "WHERE job_id = $1";
constexpr char kWhereKey[] = "WHERE idempotency_key = $1";
constexpr char kUpdateJob[] =
    "UPDATE training_job SET state = $2, payload = $3, updated_at_micros = $4 "
    "WHERE job_id = $1 AND state = ANY($5::smallint[]) RETURNING job_id";
constexpr char kSelectState[] = "SELECT state FROM training_job WHERE job_id = $1";
constexpr char kListJobs[] =
    "WHERE ($1 = '' OR experiment = $1) AND (cardinality($2::smallint[]) = 0 OR state = ANY($2::smallint[])) "
    "AND ($3 = '' OR trigger_name = $3) AND ($4 = false OR (created_at_micros, job_id) < ($5, $6)) "
    "ORDER BY created_at_micros DESC, job_id DESC LIMIT $7";
constexpr char kExperimentExists[] = "SELECT 1 FROM experiment WHERE name = $1";
constexpr char kJobsInStates[] =
    "WHERE state = ANY($1::smallint[]) ORDER BY created_at_micros, job_id";
constexpr char kCountJobs[] = "SELECT state, count(*) FROM training_job GROUP BY state";

constexpr char kTriggerColumns[] =
    "SELECT name, kind, model_name, dataset, created_at_micros, payload FROM pipeline_trigger ";
constexpr char kInsertTrigger[] =
    "INSERT INTO pipeline_trigger (name, kind, model_name, dataset, created_at_micros, payload) "
    "VALUES ($1, $2, $3, $4, $5, $6)";
constexpr char kUpdateTrigger[] =
    "UPDATE pipeline_trigger SET payload = $2 WHERE name = $1 RETURNING name";
constexpr char kTriggerByName[] = "WHERE name = $1";
constexpr char kListTriggers[] =
    "WHERE ($1 = 0 OR kind = $1) AND ($2 = '' OR model_name = $2) AND ($3 = '' OR dataset = $3) "
    "AND name > $4 ORDER BY name LIMIT $5";
constexpr char kFindFire[] =
    "SELECT job_id FROM trigger_fire WHERE trigger_name = $1 AND idempotency_key = $2";
constexpr char kInsertFire[] =
    "INSERT INTO trigger_fire (trigger_name, idempotency_key, job_id, fired_at_micros) "
    "VALUES ($1, $2, $3, $4)";

// Leases use the database's clock: replicas need not agree on theirs.
#define MLOPS_DB_NOW "(extract(epoch from statement_timestamp()) * 1000000)::bigint"
constexpr char kClaimJob[] =
    "WITH c AS (SELECT job_id, lease_owner, lease_expires_at_micros FROM training_job "
    "  WHERE state IN (1, 2) AND (lease_expires_at_micros IS NULL OR lease_expires_at_micros < " MLOPS_DB_NOW ") "
    "  ORDER BY created_at_micros, job_id LIMIT 1 FOR UPDATE SKIP LOCKED) "
    "UPDATE training_job j SET lease_owner = $1, lease_expires_at_micros = " MLOPS_DB_NOW " + $2, "
    "  lease_attempts = j.lease_attempts + 1 FROM c WHERE j.job_id = c.job_id "
    "RETURNING j.job_id, j.state, j.experiment, j.trigger_name, coalesce(j.idempotency_key, ''), "
    "  j.spec_fingerprint, j.created_at_micros, j.payload, j.lease_attempts, coalesce(c.lease_owner, ''), "
    "  c.lease_expires_at_micros IS NULL, coalesce(c.lease_expires_at_micros, 0), " MLOPS_DB_NOW;
// A tick row is claimed by inserting it; a conflicting insert takes the row
// only when it is unfinished and its claim older than $4 micros.
constexpr char kClaimTick[] =
    "INSERT INTO trigger_tick (trigger_name, due_at_micros, owner, claimed_at_micros) "
    "VALUES ($1, $2, $3, " MLOPS_DB_NOW ") ON CONFLICT (trigger_name, due_at_micros) DO UPDATE "
    "SET owner = EXCLUDED.owner, claimed_at_micros = EXCLUDED.claimed_at_micros "
    "WHERE NOT trigger_tick.done AND trigger_tick.claimed_at_micros < EXCLUDED.claimed_at_micros - $4 "
    "RETURNING owner";
constexpr char kFinishTick[] =
    "UPDATE trigger_tick SET done = true WHERE trigger_name = $1 AND due_at_micros = $2 AND owner = $3";
constexpr char kInsertClaim[] =
    "INSERT INTO training_job_claim (job_id, attempt, owner, claimed_at_micros, previous_owner, note) "
    "VALUES ($1, $2, $3, $4, $5, $6)";
constexpr char kRenewLeases[] =
    "UPDATE training_job SET lease_expires_at_micros = " MLOPS_DB_NOW " + $3 "
    "WHERE lease_owner = $1 AND job_id = ANY($2::text[]) RETURNING job_id, state";
constexpr char kReleaseLeases[] =
    "UPDATE training_job SET lease_expires_at_micros = NULL "
    "WHERE lease_owner = $1 AND state IN (1, 2) AND lease_expires_at_micros IS NOT NULL";
constexpr char kUpdateLeasedJob[] =
    "UPDATE training_job SET state = $2, payload = $3, updated_at_micros = $4 "
    "WHERE job_id = $1 AND state = ANY($5::smallint[]) AND lease_owner = $6 RETURNING job_id";
constexpr char kSelectStateAndOwner[] =
    "SELECT state, coalesce(lease_owner, '') FROM training_job WHERE job_id = $1";
constexpr char kSelectClaims[] =
    "SELECT attempt, owner, claimed_at_micros, previous_owner, note FROM training_job_claim "
    "WHERE job_id = $1 ORDER BY attempt";
#undef MLOPS_DB_NOW

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string StateArray(const std::vector<JobState>& states) {
  std::vector<std::string> parts;
  for (JobState s : states) parts.push_back(absl::StrCat(static_cast<int>(s)));
  return absl::StrCat("{", absl::StrJoin(parts, ","), "}");
}

// A text[] literal of job ids (validated ids: no quotes or backslashes).
std::string IdArray(const std::vector<std::string>& ids) {
  std::vector<std::string> parts;
  for (const std::string& id : ids) parts.push_back(absl::StrCat("\"", id, "\""));
  return absl::StrCat("{", absl::StrJoin(parts, ","), "}");
}

JobRow JobFromRow(const pqxx::row& r) {
  JobRow j;
  j.id = r[0].as<std::string>();
  j.state = static_cast<JobState>(r[1].as<int>());
  j.experiment = r[2].as<std::string>();
  j.trigger_name = r[3].as<std::string>();
  j.idempotency_key = r[4].as<std::string>();
  j.spec_fingerprint = r[5].as<std::string>();
  j.created_at_micros = r[6].as<int64_t>();
  j.payload = pqxx::binarystring(r[7]).str();
  return j;
}

TriggerRow TriggerFromRow(const pqxx::row& r) {
  TriggerRow t;
  t.name = r[0].as<std::string>();
  t.kind = r[1].as<int>();
  t.model_name = r[2].as<std::string>();
  t.dataset = r[3].as<std::string>();
  t.created_at_micros = r[4].as<int64_t>();
  t.payload = pqxx::binarystring(r[5]).str();
  return t;
}

absl::Status JobNotFound(const std::string& id) {
  return absl::NotFoundError(absl::StrCat("job ", id, " not found"));
}

}  // namespace

absl::StatusOr<JobRow> PgJobStore::CreateJob(const JobRow& job, bool* created) {
  return pool_->WithTransaction({"kInsertJob"}, [&](pqxx::transaction_base& tx) -> absl::StatusOr<JobRow> {
    pqxx::result r = tx.exec_params(kInsertJob, job.id, static_cast<int>(job.state), job.experiment,
                                    job.trigger_name, job.idempotency_key, job.spec_fingerprint,
                                    job.created_at_micros,
                                    pqxx::binarystring(job.payload.data(), job.payload.size()));
    *created = r.affected_rows() == 1;
    if (*created) return job;
    pqxx::result existing = tx.exec_params(absl::StrCat(kJobColumns, kWhereKey), job.idempotency_key);
    if (existing.empty()) return absl::AbortedError("idempotency key raced; retry");
    return JobFromRow(existing[0]);
  });
}

absl::StatusOr<JobRow> PgJobStore::GetJob(const std::string& id) {
  return pool_->WithTransaction({"kSelectJob", PgIsolation::kReadCommitted, true},
                                [&](pqxx::transaction_base& tx) -> absl::StatusOr<JobRow> {
                                  pqxx::result r = tx.exec_params(absl::StrCat(kJobColumns, kWhereId), id);
                                  if (r.empty()) return JobNotFound(id);
                                  return JobFromRow(r[0]);
                                });
}

absl::Status PgJobStore::UpdateJob(const std::string& id, JobState state, const std::string& payload,
                                   const std::vector<JobState>& from) {
  return pool_->WithTransaction({"kUpdateJob"}, [&](pqxx::transaction_base& tx) -> absl::Status {
    pqxx::result r = tx.exec_params(kUpdateJob, id, static_cast<int>(state),
                                    pqxx::binarystring(payload.data(), payload.size()), NowMicros(),
                                    StateArray(from));
    if (!r.empty()) return absl::OkStatus();
    pqxx::result s = tx.exec_params(kSelectState, id);
    if (s.empty()) return JobNotFound(id);
    return absl::FailedPreconditionError(
        absl::StrCat("job ", id, " is in state ", s[0][0].as<int>(), "; cannot move to ",
                     static_cast<int>(state)));
  });
}

absl::StatusOr<std::vector<JobRow>> PgJobStore::ListJobs(const JobListFilter& f) {
  return pool_->WithTransaction(
      {"kListJobs", PgIsolation::kReadCommitted, true},
      [&](pqxx::transaction_base& tx) -> absl::StatusOr<std::vector<JobRow>> {
        if (!f.experiment.empty() && tx.exec_params(kExperimentExists, f.experiment).empty()) {
          return absl::NotFoundError(absl::StrCat("experiment \"", f.experiment, "\" not found"));
        }
        std::vector<JobRow> out;
        for (const pqxx::row& row : tx.exec_params(
                 absl::StrCat(kJobColumns, kListJobs), f.experiment, StateArray(f.states),
                 f.trigger_name, f.before.has_value(), f.before ? f.before->first : 0,
                 f.before ? f.before->second : std::string(), f.limit)) {
          out.push_back(JobFromRow(row));
        }
        return out;
      });
}

absl::StatusOr<std::vector<JobRow>> PgJobStore::JobsInStates(const std::vector<JobState>& states) {
  return pool_->WithTransaction({"kJobsInStates", PgIsolation::kReadCommitted, true},
                                [&](pqxx::transaction_base& tx) {
                                  std::vector<JobRow> out;
                                  for (const pqxx::row& row : tx.exec_params(
                                           absl::StrCat(kJobColumns, kJobsInStates), StateArray(states))) {
                                    out.push_back(JobFromRow(row));
                                  }
                                  return out;
                                });
}

absl::StatusOr<std::map<JobState, int64_t>> PgJobStore::CountJobsByState() {
  return pool_->WithTransaction({"kCountJobs", PgIsolation::kReadCommitted, true},
                                [&](pqxx::transaction_base& tx) {
                                  std::map<JobState, int64_t> out;
                                  for (const pqxx::row& row : tx.exec(kCountJobs)) {
                                    out[static_cast<JobState>(row[0].as<int>())] = row[1].as<int64_t>();
                                  }
                                  return out;
                                });
}

absl::Status PgJobStore::CreateTrigger(const TriggerRow& t) {
  absl::Status s = pool_->WithTransaction({"kInsertTrigger"}, [&](pqxx::transaction_base& tx) {
    tx.exec_params(kInsertTrigger, t.name, t.kind, t.model_name, t.dataset, t.created_at_micros,
                   pqxx::binarystring(t.payload.data(), t.payload.size()));
  });
  if (absl::IsAlreadyExists(s)) {
    return absl::AlreadyExistsError(absl::StrCat("trigger \"", t.name, "\" already exists"));
  }
  return s;
}

absl::StatusOr<TriggerRow> PgJobStore::GetTrigger(const std::string& name) {
  return pool_->WithTransaction(
      {"kSelectTrigger", PgIsolation::kReadCommitted, true},
      [&](pqxx::transaction_base& tx) -> absl::StatusOr<TriggerRow> {
        pqxx::result r = tx.exec_params(absl::StrCat(kTriggerColumns, kTriggerByName), name);
        if (r.empty()) return absl::NotFoundError(absl::StrCat("trigger \"", name, "\" not found"));
        return TriggerFromRow(r[0]);
      });
}

absl::Status PgJobStore::UpdateTrigger(const TriggerRow& t) {
  return pool_->WithTransaction({"kUpdateTrigger"}, [&](pqxx::transaction_base& tx) -> absl::Status {
    if (tx.exec_params(kUpdateTrigger, t.name, pqxx::binarystring(t.payload.data(), t.payload.size()))
            .empty()) {
      return absl::NotFoundError(absl::StrCat("trigger \"", t.name, "\" not found"));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<TriggerRow>> PgJobStore::ListTriggers(const TriggerListFilter& f) {
  return pool_->WithTransaction({"kListTriggers", PgIsolation::kReadCommitted, true},
                                [&](pqxx::transaction_base& tx) {
                                  std::vector<TriggerRow> out;
                                  for (const pqxx::row& row : tx.exec_params(
                                           absl::StrCat(kTriggerColumns, kListTriggers), f.kind,
                                           f.model_name, f.dataset, f.after_name, f.limit)) {
                                    out.push_back(TriggerFromRow(row));
                                  }
                                  return out;
                                });
}

absl::StatusOr<std::optional<std::string>> PgJobStore::FindFire(const std::string& trigger,
                                                                const std::string& key) {
  return pool_->WithTransaction({"kFindFire", PgIsolation::kReadCommitted, true},
                                [&](pqxx::transaction_base& tx) -> std::optional<std::string> {
                                  pqxx::result r = tx.exec_params(kFindFire, trigger, key);
                                  if (r.empty()) return std::nullopt;
                                  return r[0][0].as<std::string>();
                                });
}

absl::Status PgJobStore::RecordFire(const std::string& trigger, const std::string& key,
                                    const std::string& job_id, int64_t at_micros) {
  return pool_->WithTransaction({"kInsertFire"}, [&](pqxx::transaction_base& tx) {
    tx.exec_params(kInsertFire, trigger, key, job_id, at_micros);
  });
}

absl::StatusOr<bool> PgJobStore::ClaimTick(const std::string& trigger, int64_t due_micros,
                                           const std::string& owner, std::chrono::milliseconds stale_after) {
  return pool_->WithTransaction({"kClaimTick"}, [&](pqxx::transaction_base& tx) {
    return !tx.exec_params(kClaimTick, trigger, due_micros, owner, static_cast<int64_t>(stale_after.count()) * 1000)
                .empty();
  });
}

absl::Status PgJobStore::FinishTick(const std::string& trigger, int64_t due_micros, const std::string& owner) {
  return pool_->WithTransaction({"kFinishTick"}, [&](pqxx::transaction_base& tx) {
    tx.exec_params(kFinishTick, trigger, due_micros, owner);
  });
}

absl::StatusOr<std::optional<JobClaim>> PgJobStore::ClaimJob(const std::string& owner,
                                                             std::chrono::milliseconds ttl) {
  return pool_->WithTransaction(
      {"kClaimJob"}, [&](pqxx::transaction_base& tx) -> absl::StatusOr<std::optional<JobClaim>> {
        pqxx::result r = tx.exec_params(kClaimJob, owner, static_cast<int64_t>(ttl.count()) * 1000);
        if (r.empty()) return std::nullopt;
        JobClaim claim;
        claim.job = JobFromRow(r[0]);
        claim.attempt = r[0][8].as<int>();
        claim.previous_owner = r[0][9].as<std::string>();
        const bool released = r[0][10].as<bool>();
        const int64_t expired_at = r[0][11].as<int64_t>();
        const int64_t now = r[0][12].as<int64_t>();
        if (claim.previous_owner.empty()) {
          claim.note = "first claim";
        } else if (released) {
          claim.note = absl::StrCat("released by ", claim.previous_owner, " (drain)");
        } else {
          claim.note = absl::StrCat("lease of ", claim.previous_owner, " expired ",
                                    (now - expired_at) / 1000, " ms before this claim");
        }
        tx.exec_params(kInsertClaim, claim.job.id, claim.attempt, owner, now, claim.previous_owner,
                       claim.note);
        return claim;
      });
}

absl::StatusOr<std::map<std::string, JobState>> PgJobStore::RenewLeases(const std::string& owner,
                                                                       const std::vector<std::string>& ids,
                                                                       std::chrono::milliseconds ttl) {
  if (ids.empty()) return std::map<std::string, JobState>{};
  return pool_->WithTransaction({"kRenewLeases"}, [&](pqxx::transaction_base& tx) {
    std::map<std::string, JobState> held;
    for (const pqxx::row& row :
         tx.exec_params(kRenewLeases, owner, IdArray(ids), static_cast<int64_t>(ttl.count()) * 1000)) {
      held[row[0].as<std::string>()] = static_cast<JobState>(row[1].as<int>());
    }
    return held;
  });
}

absl::Status PgJobStore::ReleaseLeases(const std::string& owner) {
  return pool_->WithTransaction({"kReleaseLeases"}, [&](pqxx::transaction_base& tx) {
    tx.exec_params(kReleaseLeases, owner);
  });
}

absl::StatusOr<LeasedWrite> PgJobStore::UpdateLeasedJob(const std::string& id, const std::string& owner,
                                                        JobState state, const std::string& payload,
                                                        const std::vector<JobState>& from) {
  return pool_->WithTransaction({"kUpdateLeasedJob"}, [&](pqxx::transaction_base& tx) -> absl::StatusOr<LeasedWrite> {
    pqxx::result r = tx.exec_params(kUpdateLeasedJob, id, static_cast<int>(state),
                                    pqxx::binarystring(payload.data(), payload.size()), NowMicros(),
                                    StateArray(from), owner);
    if (!r.empty()) return LeasedWrite::kWritten;
    pqxx::result s = tx.exec_params(kSelectStateAndOwner, id);
    if (s.empty()) return JobNotFound(id);
    return s[0][1].as<std::string>() == owner ? LeasedWrite::kWrongState : LeasedWrite::kLeaseLost;
  });
}

absl::StatusOr<std::vector<JobClaimRecord>> PgJobStore::JobClaims(const std::string& id) {
  return pool_->WithTransaction({"kSelectClaims", PgIsolation::kReadCommitted, true},
                                [&](pqxx::transaction_base& tx) {
                                  std::vector<JobClaimRecord> out;
                                  for (const pqxx::row& row : tx.exec_params(kSelectClaims, id)) {
                                    out.push_back({row[0].as<int>(), row[1].as<std::string>(),
                                                   row[2].as<int64_t>(), row[3].as<std::string>(),
                                                   row[4].as<std::string>()});
                                  }
                                  return out;
                                });
}

}  // namespace mlops::training
