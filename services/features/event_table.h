#pragma once
// EventTable: the events of one feature view in memory, columnar, grouped by
// entity and sorted by (event time, ingestion order) within each entity.
// Only the columns the view's features read are kept, each once however many
// features read it. Built once by an EventTableBuilder from rows streamed in
// chunks; immutable afterwards and safe to read from many threads.
//
// Memory per event: 8 bytes of event time + per kept column 8 (INT64,
// DOUBLE, TIMESTAMP), 4 (STRING: dictionary code) or 1 (BOOL), + 1 bit per
// column that has nulls; plus ~40 bytes per entity (offsets and key index).
// While building, each row is held once as a record of 8-byte slots (entity,
// time, one per kept column, null mask words for nullable columns); Finish()
// moves the records into the table bucket by bucket, releasing each bucket
// as it goes, so the peak stays near one copy of the data.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/features/buffers.h"
#include "services/features/entity_index.h"
#include "services/features/feature_view.h"
#include "services/features/thread_pool.h"
#include "services/features/types.h"

namespace mlops::features {

// One source column of a view in event order. Immutable once built.
class EventColumn {
 public:
  explicit EventColumn(DataType type) : type_(type) {}

  DataType type() const { return type_; }
  bool has_nulls() const { return !validity_.empty(); }
  bool IsValid(int64_t i) const {
    return validity_.empty() || ((validity_[static_cast<uint64_t>(i) >> 6] >> (i & 63)) & 1);
  }
  // The value array of this column's type (the others are empty): INT64 and
  // TIMESTAMP in ints(), DOUBLE in doubles(), BOOL in bools() (0/1), STRING
  // as codes() into dictionary().
  const Buffer<int64_t>& ints() const { return ints_; }
  const Buffer<double>& doubles() const { return doubles_; }
  const Buffer<uint8_t>& bools() const { return bools_; }
  const Buffer<int32_t>& codes() const { return codes_; }
  const std::vector<std::string>& dictionary() const { return dictionary_; }

  size_t MemoryBytes() const;

 private:
  friend class EventTableBuilder;
  DataType type_;
  Buffer<int64_t> ints_;
  Buffer<double> doubles_;
  Buffer<uint8_t> bools_;
  Buffer<int32_t> codes_;
  std::vector<std::string> dictionary_;
  Buffer<uint64_t> validity_;  // bit i = 1: event i has a value; empty: no nulls
};

class EventTable {
 public:
  const FeatureViewDefinition& definition() const { return definition_; }
  const EntityIndex& entities() const { return entities_; }
  int64_t num_events() const { return static_cast<int64_t>(event_times_.size()); }
  size_t num_entities() const { return entities_.size(); }

  // The events of entity id e are [EntityBegin(e), EntityEnd(e)), in order of
  // event time, ties in ingestion order. Entities are stored in id order, so
  // visiting entities by increasing id walks the table front to back.
  int64_t EntityBegin(int32_t e) const { return entity_offsets_[e]; }
  int64_t EntityEnd(int32_t e) const { return entity_offsets_[e + 1]; }
  const Buffer<int64_t>& event_times() const { return event_times_; }

  // The column feature i of the definition reads, and its type.
  const EventColumn& ColumnOfFeature(size_t i) const { return columns_[feature_column_[i]]; }
  // Distinct columns kept.
  size_t num_columns() const { return columns_.size(); }

  size_t MemoryBytes() const;

 private:
  friend class EventTableBuilder;
  explicit EventTable(FeatureViewDefinition definition, DataType key_type)
      : definition_(std::move(definition)), entities_(key_type) {}

  FeatureViewDefinition definition_;
  EntityIndex entities_;
  std::vector<int64_t> entity_offsets_;  // size num_entities + 1
  Buffer<int64_t> event_times_;
  std::vector<EventColumn> columns_;
  std::vector<size_t> feature_column_;  // feature index -> columns_ index
};

// Collects the rows of one view's source dataset, chunk by chunk, and sorts
// them into an EventTable. Rows go into buckets by entity as they arrive, so
// that Finish() sorts one cache-sized bucket at a time. Not thread-safe;
// Finish() may use a ThreadPool.
class EventTableBuilder {
 public:
  // Fails with InvalidArgument when the definition is not valid against the
  // schema. `expected_rows` (e.g. the dataset version's row count; 0 when
  // unknown) only sizes the buckets: a good guess makes Finish() faster.
  static absl::StatusOr<std::unique_ptr<EventTableBuilder>> Create(
      FeatureViewDefinition definition, const SourceSchema& schema, int64_t expected_rows = 0);

  // Appends a chunk of rows. batch.columns is positional against the schema
  // given to Create; columns the view does not read may be left empty. All
  // or nothing: on error (InvalidArgument naming the row and column: wrong
  // column count, type or length, null entity key or event time, a null in a
  // column the schema declares not nullable) nothing of the chunk is kept.
  // Rows are numbered from 0 across chunks.
  absl::Status Append(const ColumnBatch& batch);

  int64_t rows_appended() const { return rows_; }

  // Sorts and returns the table. Call once: the builder is spent afterwards
  // (a second Finish returns null, Append fails with FailedPrecondition).
  std::shared_ptr<const EventTable> Finish(ThreadPool* pool = nullptr);

 private:
  // A kept column while rows stream in.
  struct KeptColumn {
    int schema_index = 0;
    DataType type = DataType::kDouble;
    bool nullable = false;
    bool any_null = false;
    absl::flat_hash_map<std::string, int32_t> dictionary_ids;  // STRING
    std::vector<std::string> dictionary;
  };

  EventTableBuilder(FeatureViewDefinition definition, const SourceSchema& schema,
                    int64_t expected_rows);
  absl::Status CheckBatch(const ColumnBatch& batch) const;
  // The dictionary code of a STRING value.
  static int32_t Intern(KeptColumn& column, const std::string& value);
  // Moves bucket b's records to their sorted places in the table: its
  // entities get ids first_id.., its events positions first_event...
  void DrainBucket(size_t b, int32_t first_id, int64_t first_event,
                   std::vector<Buffer<uint8_t>>& null_bytes);

  std::unique_ptr<EventTable> table_;
  SourceSchema schema_;
  int entity_index_ = 0;
  int time_index_ = 0;
  std::vector<KeptColumn> kept_;
  size_t mask_slot_ = 0;  // first null mask slot; == slots_ when no column is nullable
  size_t slots_ = 0;      // per record
  // A power of two of them; entity (arrival) id i goes to bucket i % size.
  std::vector<RecordBlocks> buckets_;
  int bucket_bits_ = 0;
  int64_t rows_ = 0;
};

}  // namespace mlops::features
