#include "services/features/event_table.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/features/absl_view.h"

namespace mlops::features {
namespace {

// Record slots before the kept columns: entity id, event time.
constexpr size_t kEntitySlot = 0;
constexpr size_t kTimeSlot = 1;
constexpr size_t kFirstValueSlot = 2;
// Expected rows per bucket when sizing buckets from a hint, and most buckets.
constexpr int64_t kRowsPerBucket = 32768;
constexpr size_t kMaxBuckets = 4096;

template <typename T>
size_t VectorBytes(const T& v) {
  return v.capacity() * sizeof(typename T::value_type);
}

// Reorders data[0, n) so that data[i] = old data[order[i]].
template <typename T>
void Permute(T* data, const std::vector<uint32_t>& order, std::vector<uint64_t>& scratch) {
  const size_t n = order.size();
  scratch.resize((n * sizeof(T) + 7) / 8);
  std::memcpy(scratch.data(), data, n * sizeof(T));
  const char* src = reinterpret_cast<const char*>(scratch.data());
  for (size_t i = 0; i < n; ++i) std::memcpy(&data[i], src + order[i] * sizeof(T), sizeof(T));
}

}  // namespace

size_t EventColumn::MemoryBytes() const {
  size_t bytes = VectorBytes(ints_) + VectorBytes(doubles_) + VectorBytes(bools_) +
                 VectorBytes(codes_) + VectorBytes(validity_) + VectorBytes(dictionary_);
  for (const std::string& s : dictionary_) {
    if (s.capacity() > 15) bytes += s.capacity() + 1;
  }
  return bytes;
}

size_t EventTable::MemoryBytes() const {
  size_t bytes = entities_.MemoryBytes() + VectorBytes(entity_offsets_) + VectorBytes(event_times_);
  for (const EventColumn& c : columns_) bytes += c.MemoryBytes();
  return bytes;
}

EventTableBuilder::EventTableBuilder(FeatureViewDefinition definition, const SourceSchema& schema,
                                     int64_t expected_rows)
    : schema_(schema) {
  entity_index_ = schema.FindColumn(definition.entity_column);
  time_index_ = schema.FindColumn(definition.event_time_column);
  table_.reset(new EventTable(std::move(definition), schema.columns[entity_index_].type));
  bool any_nullable = false;
  for (const FeatureSpec& f : table_->definition_.features) {
    const int col = schema.FindColumn(f.source_column);
    size_t slot = 0;
    while (slot < kept_.size() && kept_[slot].schema_index != col) ++slot;
    if (slot == kept_.size()) {
      kept_.emplace_back();
      kept_.back().schema_index = col;
      kept_.back().type = schema.columns[col].type;
      kept_.back().nullable = schema.columns[col].nullable;
      any_nullable = any_nullable || kept_.back().nullable;
    }
    table_->feature_column_.push_back(slot);
  }
  mask_slot_ = kFirstValueSlot + kept_.size();
  slots_ = mask_slot_ + (any_nullable ? (kept_.size() + 63) / 64 : 0);
  size_t buckets = 1;
  while (buckets < kMaxBuckets &&
         static_cast<int64_t>(buckets * 2) * kRowsPerBucket <= expected_rows) {
    buckets *= 2;
    ++bucket_bits_;
  }
  buckets_.reserve(buckets);
  for (size_t b = 0; b < buckets; ++b) buckets_.emplace_back(slots_);
}

absl::StatusOr<std::unique_ptr<EventTableBuilder>> EventTableBuilder::Create(
    FeatureViewDefinition definition, const SourceSchema& schema, int64_t expected_rows) {
  MLOPS_RETURN_IF_ERROR(definition.Validate(schema));
  return std::unique_ptr<EventTableBuilder>(
      new EventTableBuilder(std::move(definition), schema, expected_rows));
}

absl::Status EventTableBuilder::CheckBatch(const ColumnBatch& batch) const {
  if (batch.columns.size() != schema_.columns.size()) {
    return absl::InvalidArgumentError(absl::StrCat("batch has ", batch.columns.size(),
                                                   " columns; the dataset schema has ",
                                                   schema_.columns.size()));
  }
  if (batch.num_rows < 0) return absl::InvalidArgumentError("batch: negative num_rows");
  auto check_column = [&](int index, bool nulls_allowed) -> absl::Status {
    const SourceColumn& sc = schema_.columns[index];
    const ColumnVector& c = batch.columns[index];
    if (c.type() != sc.type) {
      return absl::InvalidArgumentError(absl::StrCat("column \"", sc.name, "\": batch has ",
                                                     Av(DataTypeName(c.type())), ", schema says ",
                                                     Av(DataTypeName(sc.type))));
    }
    const size_t n = static_cast<size_t>(batch.num_rows);
    if (c.size() != n || (!c.nulls.empty() && c.nulls.size() != n)) {
      return absl::InvalidArgumentError(absl::StrCat("column \"", sc.name, "\": ", c.size(),
                                                     " values for ", n, " rows"));
    }
    if (nulls_allowed) return absl::OkStatus();
    for (size_t r = 0; r < c.nulls.size(); ++r) {
      if (c.nulls[r] == 0) continue;
      const char* what = index == entity_index_ ? "null entity key"
                         : index == time_index_ ? "null event time"
                                                : "null in a column declared not nullable";
      return absl::InvalidArgumentError(absl::StrCat(
          "row ", rows_ + static_cast<int64_t>(r), ", column \"", sc.name, "\": ", what));
    }
    return absl::OkStatus();
  };
  MLOPS_RETURN_IF_ERROR(check_column(entity_index_, false));
  MLOPS_RETURN_IF_ERROR(check_column(time_index_, false));
  for (const KeptColumn& k : kept_) MLOPS_RETURN_IF_ERROR(check_column(k.schema_index, k.nullable));
  if (table_->entities_.size() + static_cast<size_t>(batch.num_rows) >
      static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "view ", table_->definition_.name, ": too many entities for one in-memory table"));
  }
  return absl::OkStatus();
}

absl::Status EventTableBuilder::Append(const ColumnBatch& batch) {
  if (table_ == nullptr) return absl::FailedPreconditionError("Append after Finish");
  MLOPS_RETURN_IF_ERROR(CheckBatch(batch));
  const size_t n = static_cast<size_t>(batch.num_rows);
  const ColumnVector& keys = batch.columns[entity_index_];
  const std::vector<int64_t>& times = batch.columns[time_index_].values.ints;
  EntityIndex& entities = table_->entities_;
  const size_t bucket_mask = buckets_.size() - 1;
  std::vector<const ColumnVector*> inputs;
  for (const KeptColumn& k : kept_) inputs.push_back(&batch.columns[k.schema_index]);
  // Row by row, so that each record is written while it is in cache.
  constexpr size_t kPrefetchAhead = 16;
  const bool int_keys = entities.key_type() == DataType::kInt64;
  for (size_t r = 0; r < n; ++r) {
    if (int_keys && r + kPrefetchAhead < n) entities.Prefetch(keys.values.ints[r + kPrefetchAhead]);
    const int32_t id = int_keys ? entities.Intern(keys.values.ints[r])
                                : entities.Intern(std::string_view(keys.values.strings[r]));
    uint64_t* record = buckets_[static_cast<size_t>(id) & bucket_mask].Append();
    record[kEntitySlot] = static_cast<uint64_t>(id);
    record[kTimeSlot] = static_cast<uint64_t>(times[r]);
    for (size_t s = mask_slot_; s < slots_; ++s) record[s] = 0;
    for (size_t c = 0; c < kept_.size(); ++c) {
      const ColumnVector& in = *inputs[c];
      uint64_t& slot = record[kFirstValueSlot + c];
      if (in.IsNull(r)) {
        slot = 0;  // nulls hold zero
        record[mask_slot_ + c / 64] |= uint64_t{1} << (c % 64);
        kept_[c].any_null = true;
        continue;
      }
      switch (kept_[c].type) {
        case DataType::kInt64:
        case DataType::kTimestamp: slot = static_cast<uint64_t>(in.values.ints[r]); break;
        case DataType::kDouble: std::memcpy(&slot, &in.values.doubles[r], 8); break;
        case DataType::kBool: slot = in.values.ints[r] != 0 ? 1 : 0; break;
        case DataType::kString: slot = static_cast<uint64_t>(Intern(kept_[c], in.values.strings[r])); break;
      }
    }
  }
  rows_ += batch.num_rows;
  return absl::OkStatus();
}

int32_t EventTableBuilder::Intern(KeptColumn& column, const std::string& value) {
  auto [it, inserted] =
      column.dictionary_ids.try_emplace(value, static_cast<int32_t>(column.dictionary.size()));
  if (inserted) column.dictionary.push_back(value);
  return it->second;
}

void EventTableBuilder::DrainBucket(size_t b, int32_t first_id, int64_t first_event,
                                    std::vector<Buffer<uint8_t>>& null_bytes) {
  EventTable& table = *table_;
  const RecordBlocks& bucket = buckets_[b];
  // The bucket holds arrival ids b, b + B, b + 2B, ...: local index id >> bits.
  const size_t num_local = table.entities_.size() > b
                               ? ((table.entities_.size() - b - 1) >> bucket_bits_) + 1
                               : 0;
  std::vector<int64_t> cursor(num_local + 1, 0);
  bucket.ForEach([&](const uint64_t* record) { ++cursor[(record[kEntitySlot] >> bucket_bits_) + 1]; });
  for (size_t j = 0; j < num_local; ++j) {
    cursor[j + 1] += cursor[j];
    table.entity_offsets_[first_id + j] = first_event + cursor[j];
  }
  int64_t* times = table.event_times_.data() + first_event;
  bucket.ForEach([&](const uint64_t* record) {
    const int64_t pos = cursor[record[kEntitySlot] >> bucket_bits_]++;
    times[pos] = static_cast<int64_t>(record[kTimeSlot]);
    for (size_t c = 0; c < kept_.size(); ++c) {
      EventColumn& out = table.columns_[c];
      const uint64_t v = record[kFirstValueSlot + c];
      const int64_t at = first_event + pos;
      switch (out.type_) {
        case DataType::kInt64:
        case DataType::kTimestamp: out.ints_[at] = static_cast<int64_t>(v); break;
        case DataType::kDouble: std::memcpy(&out.doubles_[at], &v, 8); break;
        case DataType::kBool: out.bools_[at] = static_cast<uint8_t>(v); break;
        case DataType::kString: out.codes_[at] = static_cast<int32_t>(v); break;
      }
      if (kept_[c].any_null) {
        null_bytes[c][at] = (record[mask_slot_ + c / 64] >> (c % 64)) & 1;
      }
    }
  });
  buckets_[b].Release();
}

std::shared_ptr<const EventTable> EventTableBuilder::Finish(ThreadPool* pool) {
  if (table_ == nullptr) return nullptr;  // finished before
  EventTable& table = *table_;
  const size_t n = static_cast<size_t>(rows_);
  const size_t num_entities = table.entities_.size();
  const size_t num_buckets = buckets_.size();

  // Renumber entities bucket by bucket (bucket b holds arrival ids b, b + B,
  // ... in that order), so that each bucket's events form one contiguous
  // range of the table and id order is table order.
  std::vector<int32_t> bucket_first_id(num_buckets + 1, 0);
  std::vector<int64_t> bucket_first_event(num_buckets + 1, 0);
  for (size_t b = 0; b < num_buckets; ++b) {
    const size_t count = num_entities > b ? ((num_entities - b - 1) >> bucket_bits_) + 1 : 0;
    bucket_first_id[b + 1] = bucket_first_id[b] + static_cast<int32_t>(count);
    bucket_first_event[b + 1] =
        bucket_first_event[b] + static_cast<int64_t>(buckets_[b].size());
  }
  EntityIndex arrival_ids = std::move(table.entities_);
  table.entities_ = EntityIndex(arrival_ids.key_type());
  for (size_t b = 0; b < num_buckets; ++b) {
    for (size_t old = b; old < num_entities; old += num_buckets) {
      if (arrival_ids.key_type() == DataType::kInt64) {
        table.entities_.Intern(arrival_ids.IntKeyAt(static_cast<int32_t>(old)));
      } else {
        table.entities_.Intern(std::string_view(arrival_ids.StringKeyAt(static_cast<int32_t>(old))));
      }
    }
  }
  arrival_ids = EntityIndex(DataType::kInt64);
  table.entity_offsets_.assign(num_entities + 1, 0);
  table.entity_offsets_[num_entities] = static_cast<int64_t>(n);

  // Sized but untouched: pages become resident as buckets are drained.
  table.event_times_.resize(n);
  std::vector<Buffer<uint8_t>> null_bytes(kept_.size());
  table.columns_.clear();
  for (size_t c = 0; c < kept_.size(); ++c) {
    table.columns_.emplace_back(kept_[c].type);
    EventColumn& col = table.columns_.back();
    switch (kept_[c].type) {
      case DataType::kInt64:
      case DataType::kTimestamp: col.ints_.resize(n); break;
      case DataType::kDouble: col.doubles_.resize(n); break;
      case DataType::kBool: col.bools_.resize(n); break;
      case DataType::kString:
        col.codes_.resize(n);
        col.dictionary_ = std::move(kept_[c].dictionary);
        break;
    }
    if (kept_[c].any_null) null_bytes[c].resize(n);
  }

  ParallelForOrInline(pool, static_cast<int64_t>(num_buckets), [&](int64_t b) {
    DrainBucket(static_cast<size_t>(b), bucket_first_id[b], bucket_first_event[b], null_bytes);
    // Each entity's events are in arrival order; sort them by time (stable).
    std::vector<std::pair<int64_t, uint32_t>> keyed;
    std::vector<uint32_t> order;
    std::vector<uint64_t> scratch;
    for (int32_t e = bucket_first_id[b]; e < bucket_first_id[b + 1]; ++e) {
      // The next bucket's first offset may not be written yet: use its known value.
      const int64_t begin = table.entity_offsets_[e];
      const int64_t end = e + 1 < bucket_first_id[b + 1] ? table.entity_offsets_[e + 1]
                                                          : bucket_first_event[b + 1];
      const size_t len = static_cast<size_t>(end - begin);
      int64_t* times = table.event_times_.data() + begin;
      if (std::is_sorted(times, times + len)) continue;
      keyed.resize(len);
      for (size_t i = 0; i < len; ++i) keyed[i] = {times[i], static_cast<uint32_t>(i)};
      std::sort(keyed.begin(), keyed.end());  // (time, arrival): stable by time
      order.resize(len);
      for (size_t i = 0; i < len; ++i) order[i] = keyed[i].second;
      Permute(times, order, scratch);
      for (size_t c = 0; c < kept_.size(); ++c) {
        EventColumn& col = table.columns_[c];
        switch (col.type_) {
          case DataType::kInt64:
          case DataType::kTimestamp: Permute(col.ints_.data() + begin, order, scratch); break;
          case DataType::kDouble: Permute(col.doubles_.data() + begin, order, scratch); break;
          case DataType::kBool: Permute(col.bools_.data() + begin, order, scratch); break;
          case DataType::kString: Permute(col.codes_.data() + begin, order, scratch); break;
        }
        if (kept_[c].any_null) Permute(null_bytes[c].data() + begin, order, scratch);
      }
    }
  });

  ParallelForOrInline(pool, static_cast<int64_t>(kept_.size()), [&](int64_t c) {
    if (!kept_[c].any_null) return;
    Buffer<uint64_t>& validity = table.columns_[c].validity_;
    validity.assign((n + 63) / 64, 0);
    const uint8_t* is_null = null_bytes[c].data();
    for (size_t i = 0; i < n; ++i) {
      validity[i >> 6] |= static_cast<uint64_t>(is_null[i] == 0) << (i & 63);
    }
    null_bytes[c] = Buffer<uint8_t>();
  });
  buckets_.clear();
  rows_ = 0;
  return std::shared_ptr<const EventTable>(table_.release());
}

}  // namespace mlops::features
