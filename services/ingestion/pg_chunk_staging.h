#pragma once
// PgChunkStaging: the Postgres ChunkStaging. A thread of its own holds one
// pooled connection in a transaction (no statement timeout) and COPYs the
// batch's chunks into `chunks` as they are added, under provisional ids
// "staging-<random>/<n>", so that Postgres stores them while the rest of the
// batch is still being received and validated. Commit finishes the COPY and
// runs CommitVersion's body (pg_commit.h) in the same transaction, renaming
// the chunks to "<version id>/<n>"; anything else (an error, a rejection, a
// replay, destruction before Commit) rolls the transaction back.
//
// Memory: at most kMaxQueued chunks wait in the queue (Add blocks while
// Postgres catches up). Staging is given up, never waited for, when no
// connection was free: if the queue fills before the COPY has started, Add
// returns false and the batch commits the usual way.
// Thread-safe in the sense of ChunkStaging (one caller thread + its own).
#include <atomic>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/db/pg_pool.h"
#include "services/ingestion/ingestion_store.h"

namespace mlops::ingestion {

class PgChunkStaging final : public ChunkStaging {
 public:
  static constexpr size_t kMaxQueued = 4;

  // nullptr when `*live` stagings already hold half of the pool's
  // connections, or the pool has fewer than two free. `live` counts the
  // stagings alive (this one included until it is destroyed); the pool and
  // `live` must outlive the staging.
  static std::unique_ptr<ChunkStaging> Start(PgPool* pool, std::atomic<int>* live);
  ~PgChunkStaging() override;

  bool Add(const ChunkData& chunk) override;
  bool Writing() override;
  absl::Status ForEachStaged(const std::function<absl::Status(const ChunkData&)>& fn) override;
  std::optional<CommitOutcome> Commit(
      const std::string& dataset, const std::string& idempotency_key, size_t chunk_count,
      const std::function<absl::StatusOr<std::optional<PreparedVersion>>(
          const std::optional<VersionRecord>& head)>& prepare) override;

 private:
  PgChunkStaging(PgPool* pool, std::atomic<int>* live, std::string prefix);
  void Run();  // the staging thread

  struct CommitRequest {
    const std::string* dataset;
    const std::string* idempotency_key;
    size_t chunk_count;
    const std::function<absl::StatusOr<std::optional<PreparedVersion>>(
        const std::optional<VersionRecord>& head)>* prepare;
  };

  PgPool* pool_;
  std::atomic<int>* live_;
  const std::string prefix_;  // "staging-<16 hex>/"

  absl::Mutex mu_;
  std::deque<ChunkData> queue_ ABSL_GUARDED_BY(mu_);
  bool copying_ ABSL_GUARDED_BY(mu_) = false;  // the COPY has started
  bool failed_ ABSL_GUARDED_BY(mu_) = false;   // given up or broken: no commit here
  bool abort_ ABSL_GUARDED_BY(mu_) = false;    // roll back and stop
  std::optional<CommitRequest> request_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;     // the thread has finished
  std::optional<CommitOutcome> result_ ABSL_GUARDED_BY(mu_);
  // Set by the staging thread while prepare runs (ForEachStaged's reads).
  pqxx::transaction_base* commit_tx_ = nullptr;
  size_t staged_count_ = 0;
  std::thread thread_;  // last: starts once the fields above exist
};

}  // namespace mlops::ingestion
