#pragma once
// OnlineSnapshot: the feature values of every entity of one view as of one
// time, for online serving. Materialize() computes them with the same
// FeatureEvaluator that historical retrieval uses, so a lookup returns
// bit-for-bit what GetHistoricalFeatures returns for (entity, as_of).
// Entities with no event at or before as_of are left out and look up as
// ENTITY_UNKNOWN, as historical retrieval reports them. Values are stored row
// by row (one entity's values and statuses are adjacent in memory; STRING
// values live in a column per string feature), so a lookup is one hash probe
// plus a few cache lines. Immutable once built; safe from any number of
// threads.
//
// OnlineSnapshotSlot holds the current snapshot of a view; readers take a
// shared_ptr copy and never wait for a writer swapping in a new one.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/features/entity_index.h"
#include "services/features/feature_evaluator.h"
#include "services/features/thread_pool.h"
#include "services/features/types.h"

namespace mlops::features {

class OnlineSnapshot {
 public:
  // Evaluates every feature `evaluator` selects for every entity of its
  // table that has an event at or before as_of.
  static std::shared_ptr<const OnlineSnapshot> Materialize(const FeatureEvaluator& evaluator,
                                                           int64_t as_of_micros,
                                                           ThreadPool* pool = nullptr);

  // A copy of `base` as of `as_of_micros` in which the entities `entities`
  // (ids in the evaluator's table) are recomputed with `evaluator` (which
  // must evaluate every feature of base's view, in order): a key base has
  // keeps its row, a new key known as of as_of is appended (in the order
  // given), an entity with no event at or before as_of is skipped. Other
  // rows are copied as they are: the caller guarantees that their values as
  // of as_of equal base's (incremental materialization).
  static std::shared_ptr<const OnlineSnapshot> Update(const OnlineSnapshot& base,
                                                      const FeatureEvaluator& evaluator,
                                                      const std::vector<int32_t>& entities,
                                                      int64_t as_of_micros,
                                                      ThreadPool* pool = nullptr);

  // A snapshot from stored rows (e.g. reloaded from the online store table):
  // row i of `columns` belongs to keys[i]. InvalidArgument when names and
  // columns disagree in number, lengths differ, a key is null or repeated,
  // or the key type is not INT64/STRING.
  static absl::StatusOr<std::shared_ptr<const OnlineSnapshot>> FromRows(
      std::string view_name, int64_t view_version, int64_t as_of_micros,
      std::vector<std::string> feature_names, const ColumnVector& keys,
      std::vector<FeatureColumn> columns);

  const std::string& view_name() const { return view_name_; }
  int64_t view_version() const { return view_version_; }
  int64_t as_of_micros() const { return as_of_micros_; }
  const std::vector<std::string>& feature_names() const { return feature_names_; }
  // Index of a feature by name, or -1.
  int FindFeature(std::string_view name) const;
  size_t num_features() const { return types_.size(); }
  DataType type(size_t feature) const { return types_[feature]; }
  size_t num_entities() const { return keys_.size(); }
  const EntityIndex& keys() const { return keys_; }

  // The row of an entity, or -1 when it is unknown (or a key of the wrong
  // type).
  int32_t FindRow(const EntityKey& key) const { return keys_.Find(key); }
  int32_t FindRow(int64_t key) const { return keys_.Find(key); }
  int32_t FindRow(std::string_view key) const { return keys_.Find(key); }

  // Typed access to row `row` (>= 0) for the service layer. The value
  // accessors are meaningful only when the status is kPresent and must match
  // type(feature): DoubleAt for DOUBLE, IntAt for INT64, TIMESTAMP and BOOL
  // (0/1), StringAt for STRING.
  ValueStatus StatusAt(int32_t row, size_t feature) const {
    return static_cast<ValueStatus>(
        reinterpret_cast<const uint8_t*>(RowAt(row) + types_.size())[feature]);
  }
  double DoubleAt(int32_t row, size_t feature) const;
  int64_t IntAt(int32_t row, size_t feature) const {
    return static_cast<int64_t>(RowAt(row)[feature]);
  }
  const std::string& StringAt(int32_t row, size_t feature) const {
    return strings_[string_column_[feature]][row];
  }

  // Hints that row `row` (>= 0) will be read soon: loads its values and
  // statuses towards the cache (a batch of look-ups overlaps its misses).
  void PrefetchRow(int32_t row) const {
    const char* p = reinterpret_cast<const char*>(RowAt(row));
    __builtin_prefetch(p);
    __builtin_prefetch(p + stride_ * sizeof(uint64_t) - 1);
  }
  // Hints that `key` will be looked up soon (loads its hash slot).
  void PrefetchKey(int64_t key) const { keys_.Prefetch(key); }

  // Feature `feature` of `row`; ENTITY_UNKNOWN when row is -1.
  FeatureValue Get(int32_t row, size_t feature) const;
  // Every feature of one entity.
  std::vector<FeatureValue> Lookup(const EntityKey& key) const;

  size_t MemoryBytes() const;

 private:
  OnlineSnapshot(std::string view_name, int64_t view_version, int64_t as_of_micros,
                 std::vector<std::string> feature_names, std::vector<DataType> types,
                 DataType key_type, size_t num_rows);
  const uint64_t* RowAt(int32_t row) const { return &rows_[static_cast<size_t>(row) * stride_]; }
  // Copies rows [0, n) of `columns` into rows [first_row, first_row + n).
  void StoreRows(const std::vector<FeatureColumn>& columns, size_t n, size_t first_row);
  // Copies row i of `columns` into row `row`.
  void StoreRow(const std::vector<FeatureColumn>& columns, size_t i, size_t row);

  std::string view_name_;
  int64_t view_version_;
  int64_t as_of_micros_;
  std::vector<std::string> feature_names_;
  std::vector<DataType> types_;
  EntityIndex keys_;
  // Row r: num_features() value slots (int64 or double bits), then the
  // statuses, one byte each, padded to whole slots.
  size_t stride_;
  std::vector<uint64_t> rows_;
  std::vector<size_t> string_column_;  // feature -> index into strings_ (STRING only)
  std::vector<std::vector<std::string>> strings_;
};

// The current snapshot of one view. Thread-safe: Load and Store may race
// freely; a reader keeps the snapshot it loaded alive while it uses it.
class OnlineSnapshotSlot {
 public:
  std::shared_ptr<const OnlineSnapshot> Load() const { return std::atomic_load(&current_); }
  void Store(std::shared_ptr<const OnlineSnapshot> snapshot) {
    std::atomic_store(&current_, std::move(snapshot));
  }

 private:
  std::shared_ptr<const OnlineSnapshot> current_;
};

}  // namespace mlops::features
