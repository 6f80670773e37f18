#pragma once
// SourceStore over PostgreSQL (schema `ingestion`, migrations/0002_sources.sql),
// and the write of a pull's progress that PgIngestionStore::CommitVersion
// runs inside the version's transaction. Thread-safe: every call runs on a
// pooled connection of its own.
#include <cstdint>
#include <string>
#include <vector>

#include "common/db/pg_pool.h"
#include "services/ingestion/ingestion_store.h"
#include "services/ingestion/source_store.h"

namespace pqxx {
class transaction_base;
}  // namespace pqxx

namespace mlops::ingestion {

// Does not own the pool (main does; it must outlive the store).
class PgSourceStore final : public SourceStore {
 public:
  explicit PgSourceStore(PgPool* pool) : pool_(pool) {}

  absl::Status CreateSource(const SourceRecord& source) override;
  absl::StatusOr<SourceRecord> GetSource(const std::string& name) override;
  absl::StatusOr<std::vector<SourceRecord>> ListSources(const std::string& dataset,
                                                        const std::string& after_name,
                                                        int limit) override;
  absl::Status RecordPull(const std::string& name, const std::string& result, bool committed,
                          int64_t next_pull_at_micros) override;
  absl::StatusOr<std::vector<IngestedFile>> ListFiles(const std::string& source) override;
  absl::StatusOr<std::vector<std::string>> DueSources(int64_t now_micros, int limit) override;

 private:
  PgPool* pool_;
};

// Inside `tx` (which has written version `version_id`): locks the source
// row, checks that its watermark is still progress.watermark_from
// (FailedPrecondition otherwise: another pull advanced it) and stores the
// new watermark, or
// records the file taken (AlreadyExists if it was taken meanwhile).
// NotFound when the source is absent.
absl::Status WriteSourceProgress(pqxx::transaction_base& tx, const SourceProgress& progress,
                                 const std::string& version_id, int64_t now_micros);

}  // namespace mlops::ingestion
