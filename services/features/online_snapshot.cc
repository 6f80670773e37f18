#include "services/features/online_snapshot.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/features/absl_view.h"

namespace mlops::features {
namespace {

// Entities materialized per task.
constexpr int64_t kEntitiesPerTask = 4096;

}  // namespace

OnlineSnapshot::OnlineSnapshot(std::string view_name, int64_t view_version, int64_t as_of_micros,
                               std::vector<std::string> feature_names, DataType key_type)
    : view_name_(std::move(view_name)),
      view_version_(view_version),
      as_of_micros_(as_of_micros),
      feature_names_(std::move(feature_names)),
      keys_(key_type) {}

std::shared_ptr<const OnlineSnapshot> OnlineSnapshot::Materialize(
    const FeatureEvaluator& evaluator, int64_t as_of_micros, ThreadPool* pool) {
  const EventTable& table = evaluator.table();
  std::vector<std::string> names;
  for (size_t k = 0; k < evaluator.num_features(); ++k) names.push_back(evaluator.spec(k).name);
  std::shared_ptr<OnlineSnapshot> snapshot(
      new OnlineSnapshot(evaluator.definition().name, evaluator.definition().version,
                         as_of_micros, std::move(names), table.entities().key_type()));

  // Entities known as of the time, in table order.
  std::vector<int32_t> known;
  const std::vector<int64_t>& times = table.event_times();
  for (size_t e = 0; e < table.num_entities(); ++e) {
    const int32_t id = static_cast<int32_t>(e);
    if (times[table.EntityBegin(id)] <= as_of_micros) {
      known.push_back(id);
      if (table.entities().key_type() == DataType::kInt64) {
        snapshot->keys_.Intern(table.entities().IntKeyAt(id));
      } else {
        snapshot->keys_.Intern(std::string_view(table.entities().StringKeyAt(id)));
      }
    }
  }
  snapshot->columns_ = evaluator.MakeColumns(known.size());
  const int64_t n = static_cast<int64_t>(known.size());
  ParallelForOrInline(pool, (n + kEntitiesPerTask - 1) / kEntitiesPerTask, [&](int64_t task) {
    const int64_t end = std::min(n, (task + 1) * kEntitiesPerTask);
    for (int64_t row = task * kEntitiesPerTask; row < end; ++row) {
      evaluator.EvaluateInto(known[row], as_of_micros, snapshot->columns_, 0,
                             static_cast<size_t>(row));
    }
  });
  return snapshot;
}

absl::StatusOr<std::shared_ptr<const OnlineSnapshot>> OnlineSnapshot::FromRows(
    std::string view_name, int64_t view_version, int64_t as_of_micros,
    std::vector<std::string> feature_names, const ColumnVector& keys,
    std::vector<FeatureColumn> columns) {
  if (keys.type() != DataType::kInt64 && keys.type() != DataType::kString) {
    return absl::InvalidArgumentError(
        absl::StrCat("keys: an entity key must be INT64 or STRING, got ", Av(DataTypeName(keys.type()))));
  }
  if (feature_names.size() != columns.size()) {
    return absl::InvalidArgumentError(absl::StrCat(feature_names.size(), " feature names for ",
                                                   columns.size(), " columns"));
  }
  const size_t n = keys.size();
  for (size_t c = 0; c < columns.size(); ++c) {
    if (columns[c].size() != n || columns[c].values.size() != n) {
      return absl::InvalidArgumentError(absl::StrCat("column \"", feature_names[c], "\": ",
                                                     columns[c].size(), " rows for ", n,
                                                     " keys"));
    }
  }
  std::shared_ptr<OnlineSnapshot> snapshot(new OnlineSnapshot(
      std::move(view_name), view_version, as_of_micros, std::move(feature_names), keys.type()));
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
  snapshot->columns_ = std::move(columns);
  return std::shared_ptr<const OnlineSnapshot>(std::move(snapshot));
}

int OnlineSnapshot::FindFeature(std::string_view name) const {
  for (size_t i = 0; i < feature_names_.size(); ++i) {
    if (feature_names_[i] == name) return static_cast<int>(i);
  }
  return -1;
}

FeatureValue OnlineSnapshot::Get(int32_t row, size_t feature) const {
  FeatureValue v;
  if (row < 0) {
    v.status = ValueStatus::kEntityUnknown;
    return v;
  }
  const FeatureColumn& c = columns_[feature];
  v.status = c.status[row];
  v.value = c.Get(static_cast<size_t>(row));
  return v;
}

std::vector<FeatureValue> OnlineSnapshot::Lookup(const EntityKey& key) const {
  const int32_t row = FindRow(key);
  std::vector<FeatureValue> values;
  values.reserve(columns_.size());
  for (size_t f = 0; f < columns_.size(); ++f) values.push_back(Get(row, f));
  return values;
}

size_t OnlineSnapshot::MemoryBytes() const {
  size_t bytes = keys_.MemoryBytes();
  for (const FeatureColumn& c : columns_) {
    bytes += c.status.capacity() + c.values.ints.capacity() * sizeof(int64_t) +
             c.values.doubles.capacity() * sizeof(double) +
             c.values.strings.capacity() * sizeof(std::string);
  }
  return bytes;
}

}  // namespace mlops::features
