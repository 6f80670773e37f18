#pragma once
// IncrementalState: what incremental materialization keeps of one view
// version between runs, so that a dataset version that APPENDS rows updates
// the online snapshot by recomputing only the entities that can have
// changed, with the same FeatureEvaluator as a FULL run (hence bit-identical
// values).
//
// An entity is recomputed at a run as of T when the appended rows touch it
// or when time alone changes its values since its last recompute (its "next
// change": the first event after the last as_of enters, the oldest event of
// a window leaves it at t + window, or the latest event's raw values expire
// at t + ttl + 1). Every other entity's values as of T equal its stored
// values, so its snapshot row is copied.
//
// Per entity it retains its events from min(first event in the longest
// window, latest event at or before as_of) on, as of its last recompute,
// plus every later event (future events of as_of): exactly what any later
// evaluation can read. Retained events live in immutable segments (event
// tables: the FULL run's table, then one table per run of the entities that
// run recomputed); a segment no entity points into is dropped, and when the
// segments hold more than 2x the retained events (and more than 64k events)
// they are compacted into one. Memory bound: <= 2 x max(retained events,
// 64k) events (each 8 bytes of time + the kept columns, as EventTable) + per
// entity ~48 bytes of bookkeeping + its key, plus the snapshot it produced.
//
// Immutable: Apply returns a new state. Safe to share between threads.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/features/entity_index.h"
#include "services/features/event_table.h"
#include "services/features/feature_view.h"
#include "services/features/online_snapshot.h"
#include "services/features/thread_pool.h"
#include "services/features/types.h"

namespace mlops::features {

// The columns a view reads from its source dataset, in the order the
// service reads them: entity, event time, then each other source column
// once, in feature order.
std::vector<std::string> ViewSourceColumns(const FeatureViewDefinition& definition);

class IncrementalState {
 public:
  struct Update;

  // The state after a FULL run that built `snapshot` (with its per-row
  // last event times) from `table` as of `as_of_micros`. The table must
  // come from rows read by ViewSourceColumns (any version of them).
  static std::shared_ptr<const IncrementalState> FromFull(
      std::shared_ptr<const EventTable> table, std::shared_ptr<const OnlineSnapshot> snapshot,
      std::vector<int64_t> last_event_micros, int64_t as_of_micros, ThreadPool* pool = nullptr);

  // Applies rows appended after the rows this state reflects (positional
  // against ViewSourceColumns, types as the table's) and recomputes as of
  // `as_of_micros`. FailedPrecondition when as_of is earlier than this
  // state's, InvalidArgument when the batch does not fit (wrong columns or
  // types, null key or time).
  absl::StatusOr<Update> Apply(const ColumnBatch& appended, int64_t as_of_micros,
                               ThreadPool* pool = nullptr) const;

  int64_t as_of_micros() const { return as_of_micros_; }
  const std::shared_ptr<const OnlineSnapshot>& snapshot() const { return snapshot_; }
  const std::vector<int64_t>& last_event_micros() const { return last_event_micros_; }
  // Events held by the segments, and those of them still needed.
  int64_t held_events() const;
  int64_t retained_events() const { return retained_events_; }
  size_t num_segments() const;

 private:
  struct Where {
    int32_t segment = -1;  // -1: not stored (never happens after FromFull/Apply)
    int32_t local = -1;    // entity id in the segment's table
    int64_t keep_from = 0;  // first retained event (absolute index in the table)
  };

  IncrementalState(const FeatureViewDefinition& definition, DataType key_type);
  // Per-view constants derived from the definition.
  void Plan(const EventTable& table);
  // The first event of entity `e` of `table` any evaluation as of >= as_of
  // can read, and when its values as of as_of change next without new data.
  int64_t KeepFrom(const EventTable& table, int32_t e, int64_t as_of) const;
  int64_t NextChange(const EventTable& table, int32_t e, int64_t as_of) const;
  // Appends events [from, to) of entity e of `table` to `out` (positional
  // against schema_).
  void AppendEvents(const EventTable& table, int32_t e, int64_t from, int64_t to,
                    ColumnBatch* out) const;
  // Moves every entity's retained events into one new segment when the
  // segments hold much more than is retained; drops unused segments.
  absl::Status Compact(ThreadPool* pool);
  absl::StatusOr<std::shared_ptr<const EventTable>> BuildSegment(
      const std::vector<int32_t>& entities, const ColumnBatch* appended,
      ThreadPool* pool) const;

  FeatureViewDefinition definition_;
  SourceSchema schema_;              // ViewSourceColumns with the table's types
  std::vector<int> column_feature_;  // schema column -> a feature reading it (-1: key/time)
  std::vector<int64_t> windows_;     // distinct aggregation windows
  int64_t max_window_ = 0;
  bool has_raw_ = false;

  int64_t as_of_micros_ = 0;
  std::shared_ptr<const OnlineSnapshot> snapshot_;
  std::vector<int64_t> last_event_micros_;  // per snapshot row

  EntityIndex ids_;                   // every entity seen: global ids
  std::vector<Where> where_;          // per global id
  std::vector<int64_t> next_change_;  // per global id
  std::vector<std::shared_ptr<const EventTable>> segments_;  // null once unused
  int64_t retained_events_ = 0;
};

// What Apply produced.
struct IncrementalState::Update {
  std::shared_ptr<const IncrementalState> state;  // state->snapshot() is the new snapshot
  int64_t entities_recomputed = 0;
  int64_t entities_added = 0;
  // The snapshot rows recomputed (added ones included), ascending: every
  // other row equals the previous snapshot's.
  std::vector<int32_t> changed_rows;
};

}  // namespace mlops::features
