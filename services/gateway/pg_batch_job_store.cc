#include "services/gateway/pg_batch_job_store.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace mlops::gateway {
namespace {

constexpr char kInsert[] = R"sql(
INSERT INTO batch_jobs (job_id, model, version, input_dataset_version, feature_source,
  output_dataset, passthrough_columns, output_prefix, idempotency_key, state,
  submitted_at_micros, submitted_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12))sql";

constexpr char kUpdate[] = R"sql(
UPDATE batch_jobs SET state = $2, output_dataset_version = $3, rows_total = $4,
  rows_scored = $5, rows_per_second = $6, started_at_micros = $7, finished_at_micros = $8,
  error = $9, attempts = $10
WHERE job_id = $1)sql";

constexpr char kColumns[] = R"sql(
SELECT job_id, model, version, input_dataset_version, feature_source, output_dataset,
  passthrough_columns, output_prefix, idempotency_key, state, output_dataset_version,
  rows_total, rows_scored, rows_per_second, submitted_at_micros, started_at_micros,
  finished_at_micros, submitted_by, error, attempts
FROM batch_jobs )sql";

using Txn = pqxx::transaction_base;

BatchJob FromRow(const pqxx::row& row) {
  BatchJob j;
  j.job_id = row[0].as<std::string>();
  j.spec.model = row[1].as<std::string>();
  j.spec.version = row[2].as<int64_t>();
  j.spec.input_dataset_version = row[3].as<std::string>();
  j.spec.feature_source = row[4].as<int>();
  j.spec.output_dataset = row[5].as<std::string>();
  for (absl::string_view c : absl::StrSplit(row[6].as<std::string>(), ',', absl::SkipEmpty())) {
    j.spec.passthrough_columns.emplace_back(c);
  }
  j.spec.output_prefix = row[7].as<std::string>();
  j.spec.idempotency_key = row[8].as<std::string>();
  j.state = static_cast<BatchState>(row[9].as<int>());
  j.output_dataset_version = row[10].as<std::string>();
  j.rows_total = row[11].as<int64_t>();
  j.rows_scored = row[12].as<int64_t>();
  j.rows_per_second = row[13].as<double>();
  j.submitted_at_micros = row[14].as<int64_t>();
  j.started_at_micros = row[15].as<int64_t>();
  j.finished_at_micros = row[16].as<int64_t>();
  j.submitted_by = row[17].as<std::string>();
  j.error = row[18].as<std::string>();
  j.attempts = row[19].as<int>();
  return j;
}

}  // namespace

absl::Status PgBatchJobStore::Insert(const BatchJob& j) {
  return pool_->WithTransaction(PgCallOptions{"kInsertBatchJob"}, [&](Txn& txn) {
    txn.exec_params(kInsert, j.job_id, j.spec.model, j.spec.version, j.spec.input_dataset_version,
                    j.spec.feature_source, j.spec.output_dataset,
                    absl::StrJoin(j.spec.passthrough_columns, ","), j.spec.output_prefix,
                    j.spec.idempotency_key, static_cast<int>(j.state), j.submitted_at_micros,
                    j.submitted_by);
  });
}

absl::Status PgBatchJobStore::Update(const BatchJob& j) {
  return pool_->WithTransaction(PgCallOptions{"kUpdateBatchJob"}, [&](Txn& txn) {
    txn.exec_params(kUpdate, j.job_id, static_cast<int>(j.state), j.output_dataset_version,
                    j.rows_total, j.rows_scored, j.rows_per_second, j.started_at_micros,
                    j.finished_at_micros, j.error, j.attempts);
  });
}

absl::StatusOr<std::vector<BatchJob>> PgBatchJobStore::Select(const char* name,
                                                              const std::string& sql,
                                                              const std::string& arg) {
  PgCallOptions call{name};
  call.read_only = true;
  return pool_->WithTransaction(call, [&](Txn& txn) {
    std::vector<BatchJob> out;
    const pqxx::result rows = arg.empty() ? txn.exec(sql) : txn.exec_params(sql, arg);
    for (const pqxx::row& row : rows) out.push_back(FromRow(row));
    return out;
  });
}

absl::StatusOr<BatchJob> PgBatchJobStore::Get(const std::string& job_id) {
  absl::StatusOr<std::vector<BatchJob>> jobs =
      Select("kGetBatchJob", absl::StrCat(kColumns, "WHERE job_id = $1"), job_id);
  if (!jobs.ok()) return jobs.status();
  if (jobs->empty()) return absl::NotFoundError(absl::StrCat("batch job \"", job_id, "\": not found"));
  return std::move(jobs->front());
}

absl::StatusOr<std::optional<BatchJob>> PgBatchJobStore::FindByIdempotencyKey(
    const std::string& key) {
  absl::StatusOr<std::vector<BatchJob>> jobs =
      Select("kFindBatchJobByKey", absl::StrCat(kColumns, "WHERE idempotency_key = $1"), key);
  if (!jobs.ok()) return jobs.status();
  if (jobs->empty()) return std::optional<BatchJob>();
  return std::optional<BatchJob>(std::move(jobs->front()));
}

absl::StatusOr<std::vector<BatchJob>> PgBatchJobStore::ListUnfinished() {
  return Select("kListUnfinishedBatchJobs",
                absl::StrCat(kColumns, "WHERE state IN (1, 2) ORDER BY submitted_at_micros"), "");
}

}  // namespace mlops::gateway
