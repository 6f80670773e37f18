#include "services/features/online_snapshot.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/features/absl_view.h"

namespace mlops::features {
namespace {

// Entities materialized per task.
constexpr int64_t kEntitiesPerTask = 4096;

}  // namespace

OnlineSnapshot::OnlineSnapshot(std::string view_name, int64_t view_version, int64_t as_of_micros,
                               std::vector<std::string> feature_names,
                               std::vector<DataType> types, DataType key_type, size_t num_rows)
    : view_name_(std::move(view_name)),
      view_version_(view_version),
      as_of_micros_(as_of_micros),
      feature_names_(std::move(feature_names)),
      types_(std::move(types)),
      keys_(key_type),
      stride_(types_.size() + (types_.size() + 7) / 8),
      rows_(num_rows * stride_, 0),
      string_column_(types_.size(), 0) {
  for (size_t f = 0; f < types_.size(); ++f) {
    if (types_[f] != DataType::kString) continue;
    string_column_[f] = strings_.size();
    strings_.emplace_back(num_rows);
  }
}

void OnlineSnapshot::StoreRow(const std::vector<FeatureColumn>& columns, size_t i, size_t r) {
  const size_t num_features = types_.size();
  uint64_t* row = &rows_[r * stride_];
  uint8_t* status = reinterpret_cast<uint8_t*>(row + num_features);
  for (size_t f = 0; f < num_features; ++f) {
    const FeatureColumn& c = columns[f];
    status[f] = static_cast<uint8_t>(c.status[i]);
    switch (types_[f]) {
      case DataType::kDouble: std::memcpy(&row[f], &c.values.doubles[i], 8); break;
      case DataType::kString: strings_[string_column_[f]][r] = c.values.strings[i]; break;
      default: row[f] = static_cast<uint64_t>(c.values.ints[i]); break;
    }
  }
}

void OnlineSnapshot::StoreRows(const std::vector<FeatureColumn>& columns, size_t n,
                               size_t first_row) {
  for (size_t i = 0; i < n; ++i) StoreRow(columns, i, first_row + i);
}

std::shared_ptr<const OnlineSnapshot> OnlineSnapshot::Materialize(
    const FeatureEvaluator& evaluator, int64_t as_of_micros, ThreadPool* pool) {
  const EventTable& table = evaluator.table();
  std::vector<std::string> names;
  std::vector<DataType> types;
  for (size_t k = 0; k < evaluator.num_features(); ++k) {
    names.push_back(evaluator.spec(k).name);
    types.push_back(evaluator.output_type(k));
  }
  // Entities known as of the time, in table order.
  std::vector<int32_t> known;
  const int64_t* times = table.event_times().data();
  for (size_t e = 0; e < table.num_entities(); ++e) {
    if (times[table.EntityBegin(static_cast<int32_t>(e))] <= as_of_micros) {
      known.push_back(static_cast<int32_t>(e));
    }
  }
  std::shared_ptr<OnlineSnapshot> snapshot(new OnlineSnapshot(
      evaluator.definition().name, evaluator.definition().version, as_of_micros,
      std::move(names), std::move(types), table.entities().key_type(), known.size()));
  for (int32_t id : known) {
    if (table.entities().key_type() == DataType::kInt64) {
      snapshot->keys_.Intern(table.entities().IntKeyAt(id));
    } else {
      snapshot->keys_.Intern(std::string_view(table.entities().StringKeyAt(id)));
    }
  }
  const int64_t n = static_cast<int64_t>(known.size());
  ParallelForOrInline(pool, (n + kEntitiesPerTask - 1) / kEntitiesPerTask, [&](int64_t task) {
    const int64_t begin = task * kEntitiesPerTask;
    const int64_t end = std::min(n, begin + kEntitiesPerTask);
    std::vector<FeatureColumn> block = evaluator.MakeColumns(static_cast<size_t>(end - begin));
    for (int64_t row = begin; row < end; ++row) {
      evaluator.EvaluateInto(known[row], as_of_micros, block, 0, static_cast<size_t>(row - begin));
    }
    snapshot->StoreRows(block, static_cast<size_t>(end - begin), static_cast<size_t>(begin));
  });
  return snapshot;
}

std::shared_ptr<const OnlineSnapshot> OnlineSnapshot::Update(const OnlineSnapshot& base,
                                                             const FeatureEvaluator& evaluator,
                                                             const std::vector<int32_t>& entities,
                                                             int64_t as_of_micros,
                                                             ThreadPool* pool) {
  const EventTable& table = evaluator.table();
  const int64_t* times = table.event_times().data();
  // Target rows: existing keys keep theirs, new known keys are appended.
  std::shared_ptr<OnlineSnapshot> out(new OnlineSnapshot(base));
  out->as_of_micros_ = as_of_micros;
  std::vector<std::pair<int32_t, int32_t>> targets;  // (entity, row)
  targets.reserve(entities.size());
  for (int32_t e : entities) {
    if (times[table.EntityBegin(e)] > as_of_micros) continue;  // nothing as of the time
    const int32_t row = table.entities().key_type() == DataType::kInt64
                            ? out->keys_.Intern(table.entities().IntKeyAt(e))
                            : out->keys_.Intern(std::string_view(table.entities().StringKeyAt(e)));
    targets.emplace_back(e, row);
  }
  const size_t rows = out->keys_.size();
  out->rows_.resize(rows * out->stride_, 0);
  for (auto& column : out->strings_) column.resize(rows);
  const int64_t n = static_cast<int64_t>(targets.size());
  ParallelForOrInline(pool, (n + kEntitiesPerTask - 1) / kEntitiesPerTask, [&](int64_t task) {
    const int64_t begin = task * kEntitiesPerTask;
    const int64_t end = std::min(n, begin + kEntitiesPerTask);
    std::vector<FeatureColumn> block = evaluator.MakeColumns(static_cast<size_t>(end - begin));
    for (int64_t i = begin; i < end; ++i) {
      evaluator.EvaluateInto(targets[i].first, as_of_micros, block, 0,
                             static_cast<size_t>(i - begin));
    }
    for (int64_t i = begin; i < end; ++i) {
      out->StoreRow(block, static_cast<size_t>(i - begin), static_cast<size_t>(targets[i].second));
    }
  });
  return out;
}

absl::StatusOr<std::shared_ptr<const OnlineSnapshot>> OnlineSnapshot::FromRows(
    std::string view_name, int64_t view_version, int64_t as_of_micros,
    std::vector<std::string> feature_names, const ColumnVector& keys,
    std::vector<FeatureColumn> columns) {
  if (keys.type() != DataType::kInt64 && keys.type() != DataType::kString) {
    return absl::InvalidArgumentError(absl::StrCat(
        "keys: an entity key must be INT64 or STRING, got ", Av(DataTypeName(keys.type()))));
  }
  if (feature_names.size() != columns.size()) {
    return absl::InvalidArgumentError(absl::StrCat(feature_names.size(), " feature names for ",
                                                   columns.size(), " columns"));
  }
  const size_t n = keys.size();
  std::vector<DataType> types;
  for (size_t c = 0; c < columns.size(); ++c) {
    if (columns[c].size() != n || columns[c].values.size() != n) {
      return absl::InvalidArgumentError(absl::StrCat("column \"", feature_names[c], "\": ",
                                                     columns[c].size(), " rows for ", n,
                                                     " keys"));
    }
    types.push_back(columns[c].type());
  }
  std::shared_ptr<OnlineSnapshot> snapshot(
      new OnlineSnapshot(std::move(view_name), view_version, as_of_micros,
                         std::move(feature_names), std::move(types), keys.type(), n));
  for (size_t r = 0; r < n; ++r) {
    if (keys.IsNull(r)) {
      return absl::InvalidArgumentError(absl::StrCat("row ", r, ": null entity key"));
    }
    const int32_t id = keys.type() == DataType::kInt64
                           ? snapshot->keys_.Intern(keys.values.ints[r])
                           : snapshot->keys_.Intern(std::string_view(keys.values.strings[r]));
    if (static_cast<size_t>(id) != r) {
      return absl::InvalidArgumentError(absl::StrCat("row ", r, ": entity key repeated"));
    }
  }
  snapshot->StoreRows(columns, n, 0);
  return std::shared_ptr<const OnlineSnapshot>(std::move(snapshot));
}

int OnlineSnapshot::FindFeature(std::string_view name) const {
  for (size_t i = 0; i < feature_names_.size(); ++i) {
    if (feature_names_[i] == name) return static_cast<int>(i);
  }
  return -1;
}

double OnlineSnapshot::DoubleAt(int32_t row, size_t feature) const {
  double v;
  std::memcpy(&v, &RowAt(row)[feature], sizeof(double));
  return v;
}

FeatureValue OnlineSnapshot::Get(int32_t row, size_t feature) const {
  FeatureValue v;
  if (row < 0) {
    v.status = ValueStatus::kEntityUnknown;
    return v;
  }
  v.status = StatusAt(row, feature);
  if (v.status != ValueStatus::kPresent) return v;
  switch (types_[feature]) {
    case DataType::kInt64: v.value = IntAt(row, feature); break;
    case DataType::kDouble: v.value = DoubleAt(row, feature); break;
    case DataType::kString: v.value = StringAt(row, feature); break;
    case DataType::kBool: v.value = IntAt(row, feature) != 0; break;
    case DataType::kTimestamp: v.value = TimestampMicros{IntAt(row, feature)}; break;
  }
  return v;
}

std::vector<FeatureValue> OnlineSnapshot::Lookup(const EntityKey& key) const {
  const int32_t row = FindRow(key);
  std::vector<FeatureValue> values;
  values.reserve(types_.size());
  for (size_t f = 0; f < types_.size(); ++f) values.push_back(Get(row, f));
  return values;
}

size_t OnlineSnapshot::MemoryBytes() const {
  size_t bytes = keys_.MemoryBytes() + rows_.capacity() * sizeof(uint64_t);
  for (const auto& column : strings_) {
    bytes += column.capacity() * sizeof(std::string);
    for (const std::string& s : column) {
      if (s.capacity() > 15) bytes += s.capacity() + 1;
    }
  }
  return bytes;
}

}  // namespace mlops::features
