#pragma once
// EventTableCache: the event tables of (view version, source dataset
// version) pairs, read from the ingestion service on first use and kept in
// memory, least recently used evicted first when their total size exceeds
// the budget (a table in use stays alive through its shared_ptr). The source
// columns are read through a SourceColumnCache: views over the same dataset
// version read each column from ingestion once (its own memory bound).
// Thread-safe; threads missing the same key wait for one load (a failed load
// is not cached: the next call tries again).

#include <cstdint>
#include <future>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "google/protobuf/repeated_field.h"
#include "mlops/common/v1/common.pb.h"
#include "services/features/event_table.h"
#include "services/features/ingestion_client.h"
#include "services/features/source_column_cache.h"
#include "services/features/thread_pool.h"

namespace mlops::features {

// Appends proto rows (positional against `schema`) to a columnar batch;
// InvalidArgument naming the row (first_row + i) and column on a value of
// the wrong type or a row of the wrong arity.
absl::Status ProtoRowsToBatch(const google::protobuf::RepeatedPtrField<common::v1::Row>& rows,
                              const SourceSchema& schema, int64_t first_row, ColumnBatch* out);

// Reads a view's columns of one dataset version (decoded from the wire,
// ingestion_wire.h; through `sources` when given, which shares them between
// views over the same version) and builds its event table.
absl::StatusOr<std::shared_ptr<const EventTable>> LoadEventTable(
    const IngestionClient& ingestion, const FeatureViewDefinition& definition,
    const std::string& version_id, ThreadPool* pool, SourceColumnCache* sources = nullptr);

class EventTableCache {
 public:
  // max_bytes bounds the tables; source_max_bytes the source columns kept
  // for views sharing a dataset version (SourceColumnCache).
  EventTableCache(const IngestionClient* ingestion, ThreadPool* pool, size_t max_bytes,
                  size_t source_max_bytes = size_t{1} << 30)
      : ingestion_(ingestion), pool_(pool), max_bytes_(max_bytes), sources_(source_max_bytes) {}

  // The table of `definition` (a stored version) over source version
  // `version_id` (a resolved id).
  absl::StatusOr<std::shared_ptr<const EventTable>> Get(const FeatureViewDefinition& definition,
                                                        const std::string& version_id);

  size_t size() const;
  const SourceColumnCache& sources() const { return sources_; }

 private:
  struct Entry {
    std::shared_ptr<const EventTable> table;
    size_t bytes = 0;
    std::list<std::string>::iterator lru;
  };
  void EvictLocked();

  using Result = absl::StatusOr<std::shared_ptr<const EventTable>>;

  const IngestionClient* const ingestion_;
  ThreadPool* const pool_;
  const size_t max_bytes_;
  SourceColumnCache sources_;
  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_;  // guarded by mu_
  std::list<std::string> lru_;                       // front = most recent; guarded by mu_
  absl::flat_hash_map<std::string, std::shared_future<Result>> loading_;  // guarded by mu_
  size_t bytes_ = 0;                                 // guarded by mu_
};

}  // namespace mlops::features
