#pragma once
// IngestionStore over PostgreSQL (schema `ingestion`, migrations/). The only
// file of the service that includes pqxx. Thread-safe: every call runs on a
// pooled connection of its own.
#include <atomic>
#include <memory>
#include <string>

#include "common/db/pg_pool.h"
#include "services/ingestion/ingestion_store.h"

namespace mlops::ingestion {

// Does not own the pool (main does; it must outlive the store).
class PgIngestionStore final : public IngestionStore {
 public:
  explicit PgIngestionStore(PgPool* pool) : pool_(pool) {}

  absl::Status CreateDataset(const DatasetRecord& dataset) override;
  absl::StatusOr<DatasetRecord> GetDataset(const std::string& name) override;
  absl::StatusOr<std::vector<DatasetRecord>> ListDatasets(const std::string& prefix,
                                                          const std::string& after_name,
                                                          int limit) override;
  absl::StatusOr<int64_t> UpdateSuite(
      const std::string& dataset, int64_t expected_version,
      const std::function<std::string(int64_t new_version)>& encode_suite) override;
  absl::StatusOr<std::string> GetSuite(const std::string& dataset, int64_t version) override;
  absl::StatusOr<VersionRecord> GetVersion(const std::string& id, bool with_blobs) override;
  absl::StatusOr<std::vector<VersionRecord>> ListVersions(const std::string& dataset,
                                                          bool oldest_first,
                                                          int64_t after_sequence,
                                                          int limit) override;
  absl::StatusOr<std::vector<VersionRecord>> VersionsAfter(const std::string& dataset,
                                                           int64_t after_sequence,
                                                           int limit) override;
  absl::StatusOr<std::vector<ChunkRef>> ListChunks(const std::string& version_id) override;
  absl::StatusOr<std::string> ReadChunk(const std::string& chunk_id) override;
  // A few chunks per short read-only transaction, over a binary cursor; fn
  // runs between them holding no connection (see the .cc).
  absl::Status ForEachChunk(
      const std::string& version_id, int64_t begin_row, int64_t end_row,
      const std::function<absl::Status(const ChunkRef&, std::string_view)>& fn) override;
  absl::StatusOr<CommitOutcome> CommitVersion(
      const std::string& dataset, const std::string& idempotency_key,
      const std::function<absl::StatusOr<std::optional<PreparedVersion>>(
          const std::optional<VersionRecord>& head)>& prepare) override;
  // PgChunkStaging: at most half the pool's connections stage at once.
  std::unique_ptr<ChunkStaging> StartStaging() override;

 private:
  PgPool* pool_;
  std::atomic<int> live_stagings_{0};
};

}  // namespace mlops::ingestion
