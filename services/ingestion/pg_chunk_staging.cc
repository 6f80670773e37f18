#include "services/ingestion/pg_chunk_staging.h"

#include <cstdio>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/db/pg_status.h"
#include "common/status/status_macros.h"
#include "services/ingestion/pg_chunk_copy.h"
#include "services/ingestion/pg_commit.h"

namespace mlops::ingestion {
namespace {

std::string RandomPrefix() {
  std::random_device rd;
  const uint64_t r = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(r));
  return absl::StrCat("staging-", buf, "/");
}

}  // namespace

std::unique_ptr<ChunkStaging> PgChunkStaging::Start(PgPool* pool, std::atomic<int>* live) {
  const PgPoolStats stats = pool->Stats();
  const int limit = stats.size / 2;
  if (stats.size - stats.in_use - stats.waiting < 2) return nullptr;
  if (live->fetch_add(1) >= limit) {
    live->fetch_sub(1);
    return nullptr;
  }
  return std::unique_ptr<ChunkStaging>(new PgChunkStaging(pool, live, RandomPrefix()));
}

PgChunkStaging::PgChunkStaging(PgPool* pool, std::atomic<int>* live, std::string prefix)
    : pool_(pool), live_(live), prefix_(std::move(prefix)), thread_([this] { Run(); }) {}

PgChunkStaging::~PgChunkStaging() {
  {
    absl::MutexLock lock(&mu_);
    abort_ = true;
  }
  thread_.join();
  live_->fetch_sub(1);
}

bool PgChunkStaging::Add(const ChunkData& chunk) {
  absl::MutexLock lock(&mu_);
  if (failed_ || request_.has_value()) return false;
  if (queue_.size() >= kMaxQueued && !copying_) {
    // No connection yet: give up rather than make the stream wait for one.
    failed_ = true;
    abort_ = true;
    return false;
  }
  auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return queue_.size() < kMaxQueued || failed_;
  };
  mu_.Await(absl::Condition(&room));
  if (failed_) return false;
  queue_.push_back(chunk);
  return true;
}

bool PgChunkStaging::Writing() {
  absl::MutexLock lock(&mu_);
  return copying_;
}

absl::Status PgChunkStaging::ForEachStaged(
    const std::function<absl::Status(const ChunkData&)>& fn) {
  if (commit_tx_ == nullptr) {
    return absl::FailedPreconditionError("staged chunks are readable only during the commit");
  }
  ChunkData c;
  for (size_t n = 0; n < staged_count_; ++n) {
    MLOPS_ASSIGN_OR_RETURN(pqxx::result r, PgTry("kReadStagedChunk", [&] {
      return commit_tx_->exec_params("SELECT row_count, rows FROM chunks WHERE id = $1",
                                     absl::StrCat(prefix_, n));
    }));
    if (r.size() != 1) return absl::InternalError(absl::StrCat("staged chunk ", n, " is missing"));
    c.row_count = r[0][0].as<int32_t>();
    c.rows = pqxx::binarystring(r[0][1]).str();
    MLOPS_RETURN_IF_ERROR(fn(c));
  }
  return absl::OkStatus();
}

std::optional<CommitOutcome> PgChunkStaging::Commit(
    const std::string& dataset, const std::string& idempotency_key, size_t chunk_count,
    const std::function<absl::StatusOr<std::optional<PreparedVersion>>(
        const std::optional<VersionRecord>& head)>& prepare) {
  absl::MutexLock lock(&mu_);
  if (failed_) return std::nullopt;
  request_ = CommitRequest{&dataset, &idempotency_key, chunk_count, &prepare};
  mu_.Await(absl::Condition(&done_));
  return result_;
}

void PgChunkStaging::Run() {
  PgCallOptions call{"kStageChunks"};
  call.statement_timeout = absl::InfiniteDuration();
  call.max_attempts = 1;  // a retry could not replay the chunks already taken
  std::optional<CommitOutcome> outcome;
  bool rolled_back_on_purpose = false;
  absl::Status s = pool_->WithTransaction(call, [&](pqxx::transaction_base& tx) -> absl::Status {
    std::vector<int32_t> row_counts;
    std::optional<CommitRequest> request;
    {
      MLOPS_ASSIGN_OR_RETURN(std::unique_ptr<ChunkCopy> copy, ChunkCopy::Start(tx));
      {
        absl::MutexLock lock(&mu_);
        copying_ = true;
      }
      while (true) {
        ChunkData c;
        {
          absl::MutexLock lock(&mu_);
          auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
            return !queue_.empty() || request_.has_value() || abort_;
          };
          mu_.Await(absl::Condition(&ready));
          if (abort_) return absl::CancelledError("chunk staging abandoned");
          if (queue_.empty()) {
            request = request_;
            break;
          }
          c = std::move(queue_.front());
          queue_.pop_front();
        }
        MLOPS_RETURN_IF_ERROR(
            copy->Write(absl::StrCat(prefix_, row_counts.size()), c.row_count, c.rows));
        row_counts.push_back(c.row_count);
      }
      MLOPS_RETURN_IF_ERROR(copy->Complete());
    }
    if (row_counts.size() != request->chunk_count) {
      return absl::InternalError(absl::StrCat("staged ", row_counts.size(), " chunks, the batch has ",
                                              request->chunk_count));
    }
    auto rename = [&](pqxx::transaction_base& t, const PreparedVersion&,
                      const std::string& version_id) -> absl::StatusOr<std::vector<int32_t>> {
      const int n = static_cast<int>(row_counts.size());
      pqxx::result r = t.exec_params(
          "UPDATE chunks SET id = $1 || '/' || g FROM generate_series(0, $3::int - 1) g "
          "WHERE chunks.id = $2 || g",
          version_id, prefix_, n);
      if (r.affected_rows() != static_cast<size_t>(n)) {
        return absl::InternalError(absl::StrCat("renamed ", r.affected_rows(), " staged chunks of ", n));
      }
      return row_counts;
    };
    commit_tx_ = &tx;  // for ForEachStaged, called by prepare on this thread
    staged_count_ = row_counts.size();
    absl::StatusOr<CommitOutcome> committed = CommitInTransaction(
        tx, *request->dataset, *request->idempotency_key, *request->prepare, rename);
    commit_tx_ = nullptr;
    MLOPS_ASSIGN_OR_RETURN(CommitOutcome out, std::move(committed));
    const bool written = out.written;
    outcome = std::move(out);
    if (!written) {
      rolled_back_on_purpose = true;
      return absl::CancelledError("nothing written: the staged chunks are rolled back");
    }
    return absl::OkStatus();
  });
  absl::MutexLock lock(&mu_);
  if (s.ok() || rolled_back_on_purpose) {
    result_ = std::move(outcome);
  } else {
    result_ = std::nullopt;
  }
  failed_ = !result_.has_value();
  done_ = true;
}

}  // namespace mlops::ingestion
