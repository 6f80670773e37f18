#pragma once
// Ingestion: the service's orchestration between the gRPC handlers, the
// domain (BatchValidator, VersionHasher, profiles) and the IngestionStore.
//
// An ingest stream is a BatchSession: rows are converted, schema-checked,
// profiled and hashed chunk by chunk as they arrive (BatchValidator,
// VersionHasher), and spilled to a temporary file as serialized row chunks of
// up to `stored_chunk_rows` rows (the form they are stored in). Memory is
// therefore bounded per batch: two received chunks (one being parsed, one
// being validated), 8 bytes per spilled chunk, up to 4 stored chunks queued
// for the store's staging COPY, and the validator's bounded state;
// unique(scope=version) additionally loads the parent's values of its columns.
// Where the store stages (IngestionStore::StartStaging), the stored chunks
// are COPYed into Postgres while the batch streams, in the transaction that
// will commit them, and the spill stops as soon as that COPY runs (a
// revalidation then reads the chunks back in that transaction; a staging
// connection lost mid-batch fails the batch with Unavailable); otherwise
// they are COPYed from the spill at commit.
// The commit is one store transaction that locks the dataset: if the head
// moved since validation started, the batch is validated and hashed again
// against the new head inside it, so versions form one linear chain. Nothing
// of a batch that does not commit is stored (its staging rolls back).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/auth/role.h"
#include "mlops/ingestion/v1/ingestion.pb.h"
#include "services/ingestion/batch_session.h"
#include "services/ingestion/batch_validator.h"
#include "services/ingestion/chunk_spill.h"
#include "services/ingestion/existing_values.h"
#include "services/ingestion/ingestion_store.h"
#include "services/ingestion/metrics.h"
#include "services/ingestion/read_wire.h"
#include "services/ingestion/value.h"
#include "services/ingestion/stored_records.h"
#include "services/ingestion/version_hash.h"

namespace mlops::ingestion {

struct IngestionOptions {
  int64_t max_batch_rows = 100'000'000;  // --max_batch_rows
  int stored_chunk_rows = 4096;          // rows per stored chunk
};

class Ingestion;


// Thread-safe: handlers call it concurrently; state lives in the store,
// except the commit counter that wakes watchers.
class Ingestion {
 public:
  // Does not own store or metrics (both must outlive it).
  Ingestion(IngestionStore* store, IngestionMetrics* metrics, IngestionOptions options = {});

  absl::StatusOr<v1::Dataset> CreateDataset(const Principal& who,
                                            const v1::CreateDatasetRequest& req);
  absl::StatusOr<v1::Dataset> GetDataset(const std::string& name);
  absl::StatusOr<v1::ListDatasetsResponse> ListDatasets(const v1::ListDatasetsRequest& req);
  absl::StatusOr<v1::ExpectationSuite> UpdateExpectations(const Principal& who,
                                                          const v1::UpdateExpectationsRequest& req);

  // Starts a batch from its header (dry_run: ValidateBatch).
  absl::StatusOr<std::unique_ptr<BatchSession>> StartBatch(const Principal& who,
                                                           const v1::BatchHeader& header,
                                                           bool dry_run);

  absl::StatusOr<v1::DatasetVersion> GetDatasetVersion(const v1::GetDatasetVersionRequest& req);
  absl::StatusOr<v1::ListDatasetVersionsResponse> ListDatasetVersions(
      const v1::ListDatasetVersionsRequest& req);
  // Calls `write` with each ReadDatasetVersionResponse, serialized: the
  // header, then the chunks, encoded from the stored rows' bytes without a
  // proto per row (read_wire.h; the bytes equal the proto serialization).
  // Stops early (OK) when `write` returns false (client gone).
  absl::Status ReadDatasetVersion(const v1::ReadDatasetVersionRequest& req,
                                  const std::function<bool(WireMessage)>& write);
  absl::StatusOr<v1::GetProfileResponse> GetProfile(const v1::GetProfileRequest& req);
  absl::StatusOr<v1::GetLineageResponse> GetLineage(const v1::GetLineageRequest& req);

  // Versions of `dataset` with sequence > after (ascending, at most limit).
  absl::StatusOr<std::vector<v1::DatasetVersion>> VersionsAfter(const std::string& dataset,
                                                                int64_t after, int limit);
  // All dataset names (for watches of every dataset).
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> DatasetHeads();
  // The number of commits so far; WaitForCommit returns when it exceeds
  // `seen` or after `timeout`.
  uint64_t commit_count() const;
  uint64_t WaitForCommit(uint64_t seen, absl::Duration timeout) const;

 private:
  friend class BatchSession;
  absl::StatusOr<VersionRecord> Resolve(const v1::DatasetVersionRef& ref, bool with_blobs);
  absl::StatusOr<v1::Dataset> DatasetToProto(const DatasetRecord& d) const;
  // The parent's values of the columns that unique(scope=version)
  // expectations check (APPEND with a parent only; else null). Memory scales
  // with the parent's rows in those columns.
  absl::StatusOr<std::unique_ptr<InMemoryExistingValues>> LoadExistingValues(
      const Schema& schema, const ExpectationSuite& suite, IngestMode mode,
      const std::optional<VersionRecord>& parent);
  void NotifyCommit();

  IngestionStore* store_;
  IngestionMetrics* metrics_;
  IngestionOptions options_;
  mutable absl::Mutex mu_;
  uint64_t commits_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace mlops::ingestion
