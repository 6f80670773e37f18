#pragma once
// SourceColumnCache: the columns of source dataset versions, as read from
// the ingestion service, kept so that several feature views over the same
// (dataset, version) read each column from ingestion once. A version's
// columns are kept from the second distinct view that reads it on (a
// dataset read by one view only is streamed into its table and not kept, so
// a single view costs no extra memory); each later view reads only the
// columns not kept yet.
//
// Memory bound: the kept columns total at most `max_bytes` (8 bytes per
// INT64/DOUBLE/TIMESTAMP/BOOL value, a std::string per STRING value, 1 byte
// per row for columns with NULLs); least recently used versions are dropped
// first, and a read whose new columns alone exceed the bound keeps nothing.
// Versions unused for `idle` (20 s by default) are dropped.
// Thread-safe; reads of one version are serialized (a second view waits for
// the first's read rather than reading the same columns again).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "services/features/feature_view.h"
#include "services/features/ingestion_client.h"
#include "services/features/types.h"

namespace mlops::features {

class SourceColumnCache {
 public:
  // Versions whose columns no read used for `idle` are dropped by a
  // background thread (checked every idle / 10), and the freed memory is
  // handed back to the system (malloc_trim): the columns serve the views of
  // one burst of loads (e.g. one request over 5 views), not the process's
  // lifetime.
  explicit SourceColumnCache(size_t max_bytes,
                             std::chrono::milliseconds idle = std::chrono::seconds(20));
  ~SourceColumnCache();
  SourceColumnCache(const SourceColumnCache&) = delete;
  SourceColumnCache& operator=(const SourceColumnCache&) = delete;

  using OnHeader = std::function<absl::Status(const SourceSchema& schema, int64_t row_count)>;
  using OnBatch = std::function<absl::Status(const ColumnBatch& batch)>;

  // Streams `columns` of (dataset, version_id) in row order: on_header once
  // (the columns' schema, in the order asked, and the row count), then
  // on_batch per chunk of rows. `reader` names the view reading (it decides
  // whether the version is shared). Stops at the first error.
  absl::Status Read(const IngestionClient& ingestion, const std::string& dataset,
                    const std::string& version_id, const std::vector<std::string>& columns,
                    const std::string& reader, const OnHeader& on_header,
                    const OnBatch& on_batch);

  size_t bytes() const;
  // Versions with kept columns.
  size_t size() const;

 private:
  // One kept column of a version, in the chunks it was read in.
  struct Column {
    SourceColumn meta;
    std::vector<ColumnVector> chunks;
    size_t bytes = 0;
  };
  // The kept columns of one version; `mu` serializes its reads.
  struct Version {
    std::mutex mu;
    int64_t row_count = 0;
    std::vector<int64_t> chunk_rows;  // rows per chunk (the same for every column)
    absl::flat_hash_map<std::string, std::shared_ptr<const Column>> columns;  // guarded by mu
  };
  struct Entry {
    std::shared_ptr<Version> version;
    size_t bytes = 0;
    std::list<std::string>::iterator lru;
    std::chrono::steady_clock::time_point used;
  };

  // The version's entry (created when `keep`), and whether it is shared.
  std::shared_ptr<Version> Lookup(const std::string& key, const std::string& reader);
  // Accounts `added` bytes to the entry `key`; drops least recent entries
  // beyond the bound. False when they cannot be kept at all.
  bool Account(const std::string& key, size_t added);
  void Forget(const std::string& key);
  absl::Status ReadMissing(const IngestionClient& ingestion, const std::string& dataset,
                           const std::string& version_id, const std::string& key,
                           const std::vector<std::string>& missing, Version* v);

  // The reaper thread's loop: drops idle versions until stopping_.
  void Reap();

  const size_t max_bytes_;
  const std::chrono::milliseconds idle_;
  mutable std::mutex mu_;
  std::condition_variable wake_;  // the reaper's timer; notified on stop
  bool stopping_ = false;          // guarded by mu_
  absl::flat_hash_map<std::string, Entry> entries_;  // guarded by mu_
  std::list<std::string> lru_;                       // front = most recent; guarded by mu_
  size_t bytes_ = 0;                                 // guarded by mu_
  // The views that read each version (bounded: cleared past kMaxReaders).
  absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>> readers_;  // guarded by mu_
  static constexpr size_t kMaxReaders = 4096;
  std::thread reaper_;  // last: started once everything above exists
};

}  // namespace mlops::features
