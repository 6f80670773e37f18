#pragma once
// OnlineViews: what this replica serves online, in memory: per view name and
// version, the loaded materialization (an OnlineSnapshot plus, per entity,
// the time of its last event as of the snapshot, for TTL judged at request
// time). Readers take an immutable catalog with one atomic load and never
// wait for writers, which copy the (small) catalog and swap it in.
// Thread-safe.
//
// Also the online store's encoding (Postgres online_chunks for a FULL run,
// online_rows for the entities later incremental runs changed):
// EncodeOnlineChunks / EncodeOnlineRows / DecodeStoredOnline, so that a
// reloaded snapshot equals the materialized one bit for bit.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "services/features/event_table.h"
#include "services/features/feature_store.h"
#include "services/features/online_snapshot.h"
#include "services/features/thread_pool.h"
#include "services/features/view_registry.h"

namespace mlops::features {

struct LoadedView {
  ResolvedView view;
  std::shared_ptr<const OnlineSnapshot> snapshot;
  std::vector<int64_t> last_event_micros;  // per snapshot row
  std::string source_version_id;
  int64_t run_id = 0;
};

using OnlineCatalog =
    absl::flat_hash_map<std::string, std::map<int64_t, std::shared_ptr<const LoadedView>>>;

class OnlineViews {
 public:
  OnlineViews() : catalog_(std::make_shared<const OnlineCatalog>()) {}

  std::shared_ptr<const OnlineCatalog> Load() const { return std::atomic_load(&catalog_); }
  // Serves `view` unless a newer run (higher run_id) of its view version is
  // already served.
  void Put(std::shared_ptr<const LoadedView> view);
  // The run id loaded for a view version, or 0.
  int64_t LoadedRun(const std::string& view, int64_t version) const;

 private:
  std::mutex write_mu_;  // serializes writers
  std::shared_ptr<const OnlineCatalog> catalog_;
};

// Per snapshot row, the time of the entity's last event at or before the
// snapshot's as_of in `table`.
std::vector<int64_t> LastEventTimes(const OnlineSnapshot& snapshot, const EventTable& table);

// Snapshot rows `rows` of `view` as online store rows (encoded in parallel
// on `pool` when given).
std::vector<OnlineRow> EncodeOnlineRows(const LoadedView& view, const std::vector<int32_t>& rows,
                                        ThreadPool* pool = nullptr);
// The whole snapshot in chunks of `chunk_entities` entities (a FULL run's
// write; encoded in parallel on `pool` when given).
std::vector<OnlineChunk> EncodeOnlineChunks(const LoadedView& view, size_t chunk_entities,
                                            ThreadPool* pool = nullptr);

// A LoadedView from a stored run: the FULL run's chunks with the rows of
// later incremental runs applied over them.
absl::StatusOr<std::shared_ptr<const LoadedView>> DecodeStoredOnline(const ResolvedView& view,
                                                                     const StoredOnline& stored);

}  // namespace mlops::features
