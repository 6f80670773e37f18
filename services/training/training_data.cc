#include "services/training/training_data.h"

#include <cmath>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace mlops::training {
namespace {

absl::StatusOr<std::size_t> ColumnIndex(const FetchedTable& t, const std::string& name) {
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    if (t.columns[i].name == name) return i;
  }
  return absl::InvalidArgumentError(absl::StrCat("column \"", name, "\" missing from the training data"));
}

bool Numeric(int type) {
  return type == kTypeInt64 || type == kTypeDouble || type == kTypeBool || type == kTypeTimestamp;
}

}  // namespace

absl::Status CheckLabelType(const std::string& label_column, int type, Objective objective) {
  bool ok = false;
  const char* wanted = "";
  switch (objective) {
    case Objective::kBinaryLogistic:
      ok = type == kTypeBool || type == kTypeInt64;
      wanted = "BOOL or INT64";
      break;
    case Objective::kRegSquaredError:
      ok = type == kTypeInt64 || type == kTypeDouble;
      wanted = "INT64 or DOUBLE";
      break;
    case Objective::kMultiSoftprob:
      ok = type == kTypeInt64;
      wanted = "INT64";
      break;
    case Objective::kUnspecified:
      return absl::InvalidArgumentError("trainer.objective: required");
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("data.label_column \"", label_column,
                                                 "\": the objective needs ", wanted));
}

absl::StatusOr<TrainingSet> BuildTrainingSet(const FetchedTable& t, const std::string& label_column,
                                             const std::vector<std::string>& feature_columns,
                                             const std::string& timestamp_column,
                                             Objective objective, int num_class) {
  const std::size_t width = t.columns.size();
  absl::StatusOr<std::size_t> label = ColumnIndex(t, label_column);
  if (!label.ok()) return label.status();
  if (absl::Status s = CheckLabelType(label_column, t.columns[*label].type, objective); !s.ok()) return s;
  TrainingSet set;
  std::vector<std::size_t> features;
  for (const std::string& name : feature_columns) {
    absl::StatusOr<std::size_t> i = ColumnIndex(t, name);
    if (!i.ok()) return i.status();
    if (!Numeric(t.columns[*i].type)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "feature \"", name, "\" is STRING: the built-in trainers take numeric features only"));
    }
    features.push_back(*i);
    set.feature_names.push_back(name);
    set.feature_types.push_back(t.columns[*i].type);
  }
  std::optional<std::size_t> ts;
  if (!timestamp_column.empty()) {
    absl::StatusOr<std::size_t> i = ColumnIndex(t, timestamp_column);
    if (!i.ok()) return i.status();
    ts = *i;
  }
  set.values.reserve(t.rows * features.size());
  set.labels.reserve(t.rows);
  for (std::size_t r = 0; r < t.rows; ++r) {
    const std::size_t base = r * width;
    if (t.is_null[base + *label]) {
      return absl::InvalidArgumentError(
          absl::StrCat("row ", r, ", column \"", label_column, "\": NULL label"));
    }
    const double y = t.values[base + *label];
    const bool bad = (objective == Objective::kBinaryLogistic && y != 0 && y != 1) ||
                     (objective == Objective::kMultiSoftprob && (y < 0 || y >= num_class)) ||
                     !std::isfinite(y);
    if (bad) {
      return absl::InvalidArgumentError(absl::StrCat("row ", r, ", column \"", label_column,
                                                     "\": label ", y, " not valid for the objective"));
    }
    set.labels.push_back(static_cast<float>(y));
    for (std::size_t f : features) set.values.push_back(static_cast<float>(t.values[base + f]));
    if (ts) set.timestamps.push_back(static_cast<int64_t>(t.values[base + *ts]));
  }
  return set;
}

}  // namespace mlops::training
