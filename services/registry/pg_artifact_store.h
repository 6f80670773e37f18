#pragma once
// ArtifactStore over Postgres: the `artifacts` table of schema "registry"
// (sha256, size_bytes, data bytea), one row per sha256. An upload is kept in
// memory until Commit (one INSERT after the sha256 is verified; an existing
// row is kept unless its bytes are damaged); a read fetches the row once and
// verifies it before handing out bytes. Does not own the pool. Thread-safe.
#include <functional>

#include "common/db/pg_pool.h"
#include "services/registry/artifact_store.h"

namespace mlops::registry {

class PgArtifactStore final : public ArtifactStore {
 public:
  // `now_micros` stamps created_at_micros (default: the system clock).
  explicit PgArtifactStore(PgPool* pool, std::function<int64_t()> now_micros = nullptr);

  std::string Describe() const override { return "postgres"; }
  absl::StatusOr<std::unique_ptr<ArtifactWriter>> Begin(const std::string& sha256,
                                                        int64_t size_bytes,
                                                        int64_t max_bytes) override;
  absl::StatusOr<std::optional<StoredArtifact>> Stat(const std::string& sha256) override;
  absl::StatusOr<std::unique_ptr<ArtifactReader>> Open(const std::string& sha256,
                                                       int64_t offset) override;

 private:
  PgPool* pool_;
  std::function<int64_t()> now_micros_;
};

}  // namespace mlops::registry
