#include "services/features/event_table.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/features/absl_view.h"
#include "common/status/status_macros.h"

namespace mlops::features {
namespace {

// Rows are addressed by uint32 while sorting.
constexpr int64_t kMaxEvents = std::numeric_limits<uint32_t>::max();

template <typename T>
size_t VectorBytes(const std::vector<T>& v) {
  return v.capacity() * sizeof(T);
}

// Whether the (time) run of one entity, in arrival order, is already sorted.
bool IsSorted(const int64_t* times, int64_t n) {
  for (int64_t i = 1; i < n; ++i) {
    if (times[i] < times[i - 1]) return false;
  }
  return true;
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

EventTableBuilder::EventTableBuilder(FeatureViewDefinition definition, const SourceSchema& schema)
    : schema_(schema) {
  entity_index_ = schema.FindColumn(definition.entity_column);
  time_index_ = schema.FindColumn(definition.event_time_column);
  table_.reset(new EventTable(std::move(definition), schema.columns[entity_index_].type));
  for (const FeatureSpec& f : table_->definition_.features) {
    const int col = schema.FindColumn(f.source_column);
    size_t slot = 0;
    while (slot < raw_.size() && raw_[slot].schema_index != col) ++slot;
    if (slot == raw_.size()) {
      raw_.emplace_back();
      raw_.back().schema_index = col;
      raw_.back().type = schema.columns[col].type;
    }
    table_->feature_column_.push_back(slot);
  }
}

absl::StatusOr<std::unique_ptr<EventTableBuilder>> EventTableBuilder::Create(
    FeatureViewDefinition definition, const SourceSchema& schema) {
  MLOPS_RETURN_IF_ERROR(definition.Validate(schema));
  return std::unique_ptr<EventTableBuilder>(new EventTableBuilder(std::move(definition), schema));
}

absl::Status EventTableBuilder::CheckBatch(const ColumnBatch& batch) const {
  if (batch.columns.size() != schema_.columns.size()) {
    return absl::InvalidArgumentError(absl::StrCat("batch has ", batch.columns.size(),
                                                   " columns; the dataset schema has ",
                                                   schema_.columns.size()));
  }
  if (batch.num_rows < 0) return absl::InvalidArgumentError("batch: negative num_rows");
  if (rows_appended() + batch.num_rows > kMaxEvents) {
    return absl::ResourceExhaustedError(
        absl::StrCat("view ", table_->definition_.name, " would hold more than ", kMaxEvents,
                     " events in memory"));
  }
  auto check_column = [&](int index) -> absl::Status {
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
    return absl::OkStatus();
  };
  MLOPS_RETURN_IF_ERROR(check_column(entity_index_));
  MLOPS_RETURN_IF_ERROR(check_column(time_index_));
  for (const RawColumn& raw : raw_) MLOPS_RETURN_IF_ERROR(check_column(raw.schema_index));
  for (int index : {entity_index_, time_index_}) {
    const ColumnVector& c = batch.columns[index];
    for (size_t r = 0; r < c.nulls.size(); ++r) {
      if (c.nulls[r] != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("row ", rows_appended() + static_cast<int64_t>(r), ", column \"",
                         schema_.columns[index].name, "\": null ",
                         index == entity_index_ ? "entity key" : "event time"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status EventTableBuilder::Append(const ColumnBatch& batch) {
  MLOPS_RETURN_IF_ERROR(CheckBatch(batch));
  const int64_t first_row = rows_appended();
  const size_t n = static_cast<size_t>(batch.num_rows);
  const ColumnVector& keys = batch.columns[entity_index_];
  EntityIndex& entities = table_->entities_;
  for (size_t r = 0; r < n; ++r) {
    entity_ids_.push_back(entities.key_type() == DataType::kInt64
                              ? entities.Intern(keys.values.ints[r])
                              : entities.Intern(std::string_view(keys.values.strings[r])));
  }
  const std::vector<int64_t>& times = batch.columns[time_index_].values.ints;
  for (size_t r = 0; r < n; ++r) times_.push_back(times[r]);
  for (RawColumn& raw : raw_) AppendColumn(raw, batch.columns[raw.schema_index], first_row);
  return absl::OkStatus();
}

void EventTableBuilder::AppendColumn(RawColumn& raw, const ColumnVector& in, int64_t first_row) {
  const size_t n = in.size();
  for (size_t r = 0; r < n; ++r) {
    const uint64_t row = static_cast<uint64_t>(first_row) + r;
    if ((row & 63) == 0) raw.null_bits.push_back(0);
    const bool is_null = in.IsNull(r);
    if (is_null) {
      raw.null_bits[row >> 6] |= uint64_t{1} << (row & 63);
      raw.any_null = true;
    }
    switch (raw.type) {
      case DataType::kInt64:
      case DataType::kTimestamp:
        raw.ints.push_back(is_null ? 0 : in.values.ints[r]);
        break;
      case DataType::kDouble:
        raw.doubles.push_back(is_null ? 0.0 : in.values.doubles[r]);
        break;
      case DataType::kBool:
        raw.bools.push_back(!is_null && in.values.ints[r] != 0 ? 1 : 0);
        break;
      case DataType::kString: {
        int32_t code = 0;
        if (!is_null) {
          const std::string& s = in.values.strings[r];
          auto [it, inserted] =
              raw.dictionary_ids.try_emplace(s, static_cast<int32_t>(raw.dictionary.size()));
          if (inserted) raw.dictionary.push_back(s);
          code = it->second;
        }
        raw.codes.push_back(code);
        break;
      }
    }
  }
}

void EventTableBuilder::SortColumn(RawColumn& raw, const std::vector<uint32_t>& perm,
                                   EventColumn* out) {
  const size_t n = perm.size();
  switch (raw.type) {
    case DataType::kInt64:
    case DataType::kTimestamp:
      out->ints_.resize(n);
      for (size_t i = 0; i < n; ++i) out->ints_[i] = raw.ints[perm[i]];
      break;
    case DataType::kDouble:
      out->doubles_.resize(n);
      for (size_t i = 0; i < n; ++i) out->doubles_[i] = raw.doubles[perm[i]];
      break;
    case DataType::kBool:
      out->bools_.resize(n);
      for (size_t i = 0; i < n; ++i) out->bools_[i] = raw.bools[perm[i]];
      break;
    case DataType::kString:
      out->codes_.resize(n);
      for (size_t i = 0; i < n; ++i) out->codes_[i] = raw.codes[perm[i]];
      out->dictionary_ = std::move(raw.dictionary);
      break;
  }
  if (raw.any_null) {
    out->validity_.assign((n + 63) / 64, 0);
    for (size_t i = 0; i < n; ++i) {
      const uint32_t row = perm[i];
      const bool is_null = (raw.null_bits[row >> 6] >> (row & 63)) & 1;
      if (!is_null) out->validity_[i >> 6] |= uint64_t{1} << (i & 63);
    }
  }
  raw = RawColumn();  // release the arrival-order copy
}

std::shared_ptr<const EventTable> EventTableBuilder::Finish(ThreadPool* pool) {
  EventTable& table = *table_;
  const size_t n = times_.size();
  const size_t num_entities = table.entities_.size();

  // Counting sort by entity; arrival order is kept within an entity.
  table.entity_offsets_.assign(num_entities + 1, 0);
  for (size_t r = 0; r < n; ++r) ++table.entity_offsets_[entity_ids_[r] + 1];
  for (size_t e = 0; e < num_entities; ++e) {
    table.entity_offsets_[e + 1] += table.entity_offsets_[e];
  }
  std::vector<uint32_t> perm(n);
  {
    std::vector<int64_t> next(table.entity_offsets_.begin(), table.entity_offsets_.end() - 1);
    for (size_t r = 0; r < n; ++r) perm[next[entity_ids_[r]]++] = static_cast<uint32_t>(r);
  }
  entity_ids_.Clear();
  table.event_times_.resize(n);
  for (size_t i = 0; i < n; ++i) table.event_times_[i] = times_[perm[i]];
  times_.Clear();

  // Then by (event time, arrival) within each entity, in parallel ranges.
  const int64_t kEntitiesPerTask = 4096;
  const int64_t tasks = (static_cast<int64_t>(num_entities) + kEntitiesPerTask - 1) / kEntitiesPerTask;
  ParallelForOrInline(pool, tasks, [&](int64_t task) {
    std::vector<std::pair<int64_t, uint32_t>> run;
    const int64_t e_end = std::min<int64_t>((task + 1) * kEntitiesPerTask, num_entities);
    for (int64_t e = task * kEntitiesPerTask; e < e_end; ++e) {
      const int64_t b = table.entity_offsets_[e];
      const int64_t len = table.entity_offsets_[e + 1] - b;
      if (IsSorted(&table.event_times_[b], len)) continue;
      run.clear();
      for (int64_t i = b; i < b + len; ++i) run.emplace_back(table.event_times_[i], perm[i]);
      std::sort(run.begin(), run.end());  // (time, arrival): a total order
      for (int64_t i = 0; i < len; ++i) {
        table.event_times_[b + i] = run[i].first;
        perm[b + i] = run[i].second;
      }
    }
  });

  table.columns_.clear();
  for (const RawColumn& raw : raw_) table.columns_.emplace_back(raw.type);
  ParallelForOrInline(pool, static_cast<int64_t>(raw_.size()),
                      [&](int64_t c) { SortColumn(raw_[c], perm, &table.columns_[c]); });
  raw_.clear();
  return std::shared_ptr<const EventTable>(table_.release());
}

}  // namespace mlops::features
