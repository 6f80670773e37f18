#pragma once
// SourcePuller: runs one pull of a source (TriggerSourcePull and the
// scheduler). A pull reads new rows (SqlSourceReader: rows past the
// watermark; CsvFolderReader: the next new file), streams them through the
// same BatchSession as IngestBatch (schema checks, expectations, profile,
// content hash, commit) as the source's creator, and records the result on
// the source. The version's lineage names the source and the watermark range
// or file; the watermark / taken file advance in the version's own commit
// transaction, so a pull that fails or is rejected stores nothing.
// Thread-safe: pulls of different sources run concurrently; a second pull of
// a source that is being pulled (in this process) is Aborted.
#include <cstdint>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "mlops/ingestion/v1/ingestion.pb.h"
#include "services/ingestion/ingestion.h"
#include "services/ingestion/metrics.h"
#include "services/ingestion/source_store.h"

namespace mlops::ingestion {

struct SourcePullerOptions {
  int chunk_rows = 4096;        // rows per chunk handed to the BatchSession
  size_t max_listed_files = 100'000;  // CSV folder files considered per pull
};

class SourcePuller {
 public:
  // Does not own its arguments (they must outlive it); metrics may be null.
  SourcePuller(Ingestion* ingestion, SourceStore* sources, IngestionMetrics* metrics = nullptr,
               SourcePullerOptions options = {})
      : ingestion_(ingestion), sources_(sources), metrics_(metrics), options_(options) {}

  // One pull, now. A pull that cannot read its data or whose rows do not fit
  // the schema is an OK result with outcome FAILED; a rejected batch is
  // REJECTED. Errors: InvalidArgument (bad name), NotFound (no such
  // source), Aborted (a pull of it is running), Unavailable (our database).
  absl::StatusOr<v1::SourcePullResult> Pull(const std::string& name);

  // Names of scheduled sources due now (for SourceScheduler).
  absl::StatusOr<std::vector<std::string>> DueSources(int limit);

 private:
  // What a pull body reports besides the result: whether more data may be
  // waiting (pull again at once instead of after the interval).
  struct Body {
    v1::SourcePullResult result;
    bool backlog = false;
  };
  absl::StatusOr<Body> PullPostgres(const SourceRecord& rec, const v1::Source& def,
                                    const Schema& schema);
  absl::StatusOr<Body> PullCsv(const SourceRecord& rec, const v1::Source& def,
                               const Schema& schema);
  // Starts the batch, as the source's creator.
  absl::StatusOr<std::unique_ptr<BatchSession>> StartBatch(const v1::Source& def);
  // Commits the batch (its lineage input: `lineage_id`, e.g. the watermark
  // range) and fills the result's outcome, version and report.
  absl::Status Finish(BatchSession* session, int64_t rows, v1::PullInfo pull,
                      const std::string& lineage_id, SourceProgress progress,
                      v1::SourcePullResult* result);

  Ingestion* ingestion_;
  SourceStore* sources_;
  IngestionMetrics* metrics_;
  SourcePullerOptions options_;
  absl::Mutex mu_;
  absl::flat_hash_set<std::string> running_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mlops::ingestion
