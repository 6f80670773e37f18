#pragma once
// PointInTimeJoin: historical retrieval. For each input row (entity key,
// timestamp, passthrough columns) one output row, in input order, holding
// the features of several views as of exactly that timestamp, computed by
// FeatureEvaluator (the same code as online serving). Works chunk by chunk,
// so input and output can stream: memory is the event tables plus about two
// copies of one chunk's output. Per view, a chunk's rows are sorted by
// (entity id, row); entity id order is table order, so evaluation sweeps the
// events front to back. Within an entity each row finds its events with a
// branchless binary search (~7 probes for 100 events) rather than a
// two-pointer walk: the same answer, and rows stay independent, so they are
// evaluated in parallel on a ThreadPool and the result never depends on the
// split. Deterministic: every output value is a function of its input row.
//
// Immutable after Create; JoinChunk may be called from several threads.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/features/event_table.h"
#include "services/features/feature_evaluator.h"
#include "services/features/thread_pool.h"
#include "services/features/types.h"

namespace mlops::features {

// One view to join and which of its features.
struct JoinViewRequest {
  std::shared_ptr<const EventTable> table;
  // Indices into table->definition().features; empty = all, in order.
  std::vector<size_t> features;
};

// Describes one feature column of the output.
struct JoinOutputColumn {
  std::string view;
  int64_t view_version = 0;
  std::string feature;
  DataType type = DataType::kDouble;
};

struct JoinInputChunk {
  // One key per row, of the views' entity key type (INT64 or STRING). A null
  // key matches no entity (ENTITY_UNKNOWN).
  ColumnVector entity_keys{DataType::kInt64};
  // The as-of time of each row, micros since the epoch.
  std::vector<int64_t> timestamps;
  // Carried to the output untouched (moved, not copied); may be empty.
  ColumnBatch passthrough;
};

struct JoinOutputChunk {
  // Index of this chunk's first row in the whole input (Run counts it; a
  // lone JoinChunk sets 0).
  int64_t first_row = 0;
  ColumnBatch passthrough;
  // One column per PointInTimeJoin::columns(), one row per input row.
  std::vector<FeatureColumn> features;
};

// Buffers a caller reuses across the chunks it joins, so that large arrays
// are not allocated, zeroed and faulted in again per chunk (a chunk of 256k
// rows or more releases its sorted values once scattered, keeping the
// join's peak near one copy of its output). Opaque; one per caller thread
// (not shared between concurrent JoinChunk calls).
struct JoinScratch {
  struct View {
    std::vector<int32_t> ids;           // entity id per row, -1 unknown
    std::vector<int64_t> counts;        // counting sort by entity id
    std::vector<uint64_t> order;        // (entity id << 32 | row), sorted
    std::vector<int64_t> times;         // as-of time of order[i]
    std::vector<FeatureColumn> sorted;  // values of order[i]
  };
  std::vector<View> views;
};

class PointInTimeJoin {
 public:
  // Fails with InvalidArgument for no views, a null table, a feature index
  // out of range, or views keyed by different key types.
  static absl::StatusOr<std::unique_ptr<PointInTimeJoin>> Create(
      std::vector<JoinViewRequest> views, ThreadPool* pool = nullptr);

  const std::vector<JoinOutputColumn>& columns() const { return columns_; }
  DataType entity_key_type() const { return key_type_; }

  // Joins one chunk: output row i belongs to input row i. InvalidArgument
  // when the keys have the wrong type or the lengths disagree. Pass the same
  // `scratch` for the successive chunks of one stream (faster); null uses a
  // temporary one.
  absl::StatusOr<JoinOutputChunk> JoinChunk(JoinInputChunk input,
                                            JoinScratch* scratch = nullptr) const;

  // Joins a whole input chunk_rows rows at a time, handing each output chunk
  // to `sink` in input order; stops at the first error (its own or sink's).
  absl::Status Run(const ColumnVector& entity_keys, const std::vector<int64_t>& timestamps,
                   int64_t chunk_rows,
                   const std::function<absl::Status(JoinOutputChunk)>& sink) const;

 private:
  PointInTimeJoin(std::vector<FeatureEvaluator> evaluators, ThreadPool* pool);

  std::vector<FeatureEvaluator> evaluators_;
  std::vector<size_t> first_column_;  // per view: its first output column
  std::vector<JoinOutputColumn> columns_;
  DataType key_type_ = DataType::kInt64;
  ThreadPool* pool_;
};

}  // namespace mlops::features
