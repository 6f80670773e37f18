#pragma once
// IngestionStore: persistence of datasets, expectation suites, dataset
// versions and their row chunks. Protobuf-free: the fixed parts of records
// travel as serialized proto bytes (see migrations/0001_*.sql), which the
// Ingestion class encodes and decodes.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mlops::ingestion {

struct DatasetRecord {
  std::string name;
  std::string meta;  // serialized v1.Dataset (name, description, schema, labels, principal)
  int64_t suite_version = 0;
  std::string suite;  // serialized v1.ExpectationSuite of suite_version
  std::string head_version_id;  // "" before the first version
  int64_t head_sequence = 0;
  int64_t head_row_count = 0;
  int64_t created_at_micros = 0;
  int64_t updated_at_micros = 0;
};

struct VersionRecord {
  std::string id;
  std::string dataset;
  int64_t sequence = 0;
  std::string parent_id;
  int mode = 0;  // IngestMode: 0 append, 1 replace
  int64_t row_count = 0;
  int64_t batch_row_count = 0;
  std::string principal;
  std::string source;
  int64_t created_at_micros = 0;
  int64_t suite_version = 0;
  std::string idempotency_key;  // "" = none
  std::string content_digest;
  std::string record;         // serialized v1.DatasetVersion without report
  std::string report;         // serialized v1.ValidationReport (empty when not loaded)
  std::string profile;        // serialized common.v1.DatasetProfile (empty when not loaded)
  std::string batch_profile;  // idem, the batch alone
};

// Rows of one chunk: a serialized v1.RowChunk.
struct ChunkData {
  int32_t row_count = 0;
  std::string rows;
};

// A chunk's place in a version's stable row order.
struct ChunkRef {
  int64_t first_row = 0;
  int32_t row_count = 0;
  std::string chunk_id;
};

// Calls its argument on each of the batch's chunks, in order (re-runnable).
using ChunkSource =
    std::function<absl::Status(const std::function<absl::Status(const ChunkData&)>&)>;

// What a source's pull advances, written by CommitVersion in the same
// transaction as the version (so a pull that does not commit advances
// nothing). `source` empty: the batch is not a pull.
struct SourceProgress {
  std::string source;
  // Postgres query sources: the watermark the pull started from (nullopt =
  // none) and the new one. The commit fails with Aborted when the source's
  // stored watermark is no longer `watermark_from` (a concurrent pull).
  bool advances_watermark = false;
  std::optional<int64_t> watermark_from;
  int64_t watermark_to = 0;
  // CSV folder sources: the file taken (name relative to the folder).
  std::string file;
  std::string file_sha256;
  int64_t file_size_bytes = 0;
  int64_t file_mtime_micros = 0;
};

// What CommitVersion's `prepare` returns: the version to write (sequence is
// filled in by the store), the batch's own chunks and, for a pull, the
// source's progress.
struct PreparedVersion {
  VersionRecord version;
  ChunkSource chunks;
  SourceProgress progress;
};

struct CommitOutcome {
  bool replayed = false;  // the idempotency key matched `version`
  bool written = false;   // a new version was written
  VersionRecord version;  // the replayed or written version
};

// A batch's chunks written while it streams, in a transaction of their own
// that the commit then finishes (IngestionStore::StartStaging). Add and
// Commit are called from one thread at a time; destroying it before a
// successful Commit rolls back everything it wrote.
class ChunkStaging {
 public:
  virtual ~ChunkStaging() = default;
  // Queues a copy of the next chunk (in order). May wait while earlier
  // chunks are written (memory stays bounded). False: staging failed or was
  // given up; the batch must then commit through CommitVersion (if it kept
  // its chunks) or fail.
  virtual bool Add(const ChunkData& chunk) = 0;
  // True once the chunks are being written: from then on staging is never
  // given up, only failed (the connection or the server broke).
  virtual bool Writing() = 0;
  // Only from inside Commit's `prepare` (on the thread that calls it): the
  // staged chunks in order, read back in the staging transaction, one at a
  // time. Stops at fn's first error and returns it.
  virtual absl::Status ForEachStaged(const std::function<absl::Status(const ChunkData&)>& fn) = 0;
  // CommitVersion's contract, with the staged chunks as the batch's own
  // (`chunk_count` of them expected), in the staging transaction; a version
  // that is not written (replay, rejection) rolls the chunks back. nullopt:
  // staging failed at any point (including an Aborted commit); nothing of it
  // is stored and the caller commits through CommitVersion instead (if it
  // kept its chunks) or fails.
  virtual std::optional<CommitOutcome> Commit(
      const std::string& dataset, const std::string& idempotency_key, size_t chunk_count,
      const std::function<absl::StatusOr<std::optional<PreparedVersion>>(
          const std::optional<VersionRecord>& head)>& prepare) = 0;

  // Starts writing a batch's chunks ahead of its commit, or nullptr when the
  // store does not stage (the default) or has no room for it now.
  virtual std::unique_ptr<ChunkStaging> StartStaging() { return nullptr; }
};

// Thread-safe implementations only.
class IngestionStore {
 public:
  virtual ~IngestionStore() = default;

  // AlreadyExists when the name is taken.
  virtual absl::Status CreateDataset(const DatasetRecord& dataset) = 0;
  // NotFound when absent.
  virtual absl::StatusOr<DatasetRecord> GetDataset(const std::string& name) = 0;
  // Names > after_name starting with prefix, ordered by name; at most limit.
  virtual absl::StatusOr<std::vector<DatasetRecord>> ListDatasets(const std::string& prefix,
                                                                  const std::string& after_name,
                                                                  int limit) = 0;
  // Adds suite version current+1 (Aborted if expected_version > 0 differs
  // from the current one); returns the new version number.
  virtual absl::StatusOr<int64_t> UpdateSuite(
      const std::string& dataset, int64_t expected_version,
      const std::function<std::string(int64_t new_version)>& encode_suite) = 0;
  // The suite bytes of one version; NotFound when absent.
  virtual absl::StatusOr<std::string> GetSuite(const std::string& dataset, int64_t version) = 0;

  // NotFound when absent. with_blobs: also load report and profiles.
  virtual absl::StatusOr<VersionRecord> GetVersion(const std::string& id, bool with_blobs) = 0;
  // Versions ordered by sequence (descending unless oldest_first), starting
  // after `after_sequence` in that order (0 = from the start); at most limit.
  virtual absl::StatusOr<std::vector<VersionRecord>> ListVersions(const std::string& dataset,
                                                                  bool oldest_first,
                                                                  int64_t after_sequence,
                                                                  int limit) = 0;
  // Versions of any dataset (or of `dataset` if non-empty) with sequence >
  // after_sequence for that dataset, ascending, at most limit.
  virtual absl::StatusOr<std::vector<VersionRecord>> VersionsAfter(const std::string& dataset,
                                                                   int64_t after_sequence,
                                                                   int limit) = 0;
  virtual absl::StatusOr<std::vector<ChunkRef>> ListChunks(const std::string& version_id) = 0;
  virtual absl::StatusOr<std::string> ReadChunk(const std::string& chunk_id) = 0;
  // Calls fn(ref, bytes) on each chunk of the version that holds rows of
  // [begin_row, end_row), in the version's row order, with the chunk's
  // stored bytes (valid during the call). Stops at fn's first error and
  // returns it. A store may deliver a chunk again after a retry (fn must
  // skip rows it has seen). The default reads ListChunks, then each chunk.
  virtual absl::Status ForEachChunk(
      const std::string& version_id, int64_t begin_row, int64_t end_row,
      const std::function<absl::Status(const ChunkRef&, std::string_view)>& fn) {
    absl::StatusOr<std::vector<ChunkRef>> refs = ListChunks(version_id);
    if (!refs.ok()) return refs.status();
    for (const ChunkRef& ref : *refs) {
      if (ref.first_row + ref.row_count <= begin_row) continue;
      if (ref.first_row >= end_row) break;
      absl::StatusOr<std::string> bytes = ReadChunk(ref.chunk_id);
      if (!bytes.ok()) return bytes.status();
      absl::Status s = fn(ref, *bytes);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // One transaction: locks the dataset row (NotFound if absent); if
  // `idempotency_key` is non-empty and a version of the dataset carries it,
  // returns that version (replayed). Otherwise calls prepare(head) with the
  // dataset's current head (nullopt before the first version, blobs loaded)
  // and writes what it returns (nothing when it returns nullopt): the
  // chunks, the version, its chunk list (an APPEND version's parent chunks
  // first), the new head and the source progress, if any. prepare may run
  // more than once (retries); any error rolls everything back.
  virtual absl::StatusOr<CommitOutcome> CommitVersion(
      const std::string& dataset, const std::string& idempotency_key,
      const std::function<absl::StatusOr<std::optional<PreparedVersion>>(
          const std::optional<VersionRecord>& head)>& prepare) = 0;

  // Starts writing a batch's chunks ahead of its commit, or nullptr when the
  // store does not stage (the default) or has no room for it now.
  virtual std::unique_ptr<ChunkStaging> StartStaging() { return nullptr; }
};

}  // namespace mlops::ingestion
