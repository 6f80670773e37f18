#include "services/monitoring/reference_builder.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/stats/column_profile.h"
#include "common/stats/profile_proto.h"
#include "common/status/status_macros.h"
#include "services/ingestion/names.h"
#include "services/monitoring/proto_convert.h"

namespace mlops::monitoring {
namespace {

// Reservoir sampling (algorithm R) with a fixed seed: the same rows give the
// same sample.
class Reservoir {
 public:
  explicit Reservoir(int64_t cap) : cap_(cap), rng_(0x5eed) {}
  void Add(double x) {
    ++seen_;
    if (static_cast<int64_t>(values_.size()) < cap_) {
      values_.push_back(x);
      return;
    }
    std::uniform_int_distribution<int64_t> pick(0, seen_ - 1);
    const int64_t j = pick(rng_);
    if (j < cap_) values_[static_cast<size_t>(j)] = x;
  }
  std::vector<double> Take() { return std::move(values_); }

 private:
  int64_t cap_;
  int64_t seen_ = 0;
  std::mt19937_64 rng_;
  std::vector<double> values_;
};

bool IsSampled(stats::DataType t) {
  return t == stats::DataType::kInt64 || t == stats::DataType::kDouble ||
         t == stats::DataType::kTimestamp;
}

}  // namespace

absl::StatusOr<BuiltReference> ReferenceFromRows(const v1::InlineRows& rows, int64_t max_samples) {
  if (rows.rows_size() > kMaxReferenceRows) {
    return absl::InvalidArgumentError(
        absl::StrCat("rows: ", rows.rows_size(), " rows; at most ", kMaxReferenceRows));
  }
  const auto& columns = rows.schema().columns();
  if (columns.empty()) return absl::InvalidArgumentError("rows.schema: no columns");
  std::vector<stats::ColumnProfileBuilder> builders;
  std::vector<stats::DataType> types;
  std::vector<Reservoir> reservoirs;
  std::set<std::string> names;
  for (int c = 0; c < columns.size(); ++c) {
    const std::string field = absl::StrCat("rows.schema.columns[", c, "].name");
    MLOPS_RETURN_IF_ERROR(ingestion::ValidateName(field, columns[c].name()));
    if (!names.insert(columns[c].name()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": duplicate column \"", columns[c].name(), "\""));
    }
    const auto type = static_cast<stats::DataType>(columns[c].type());
    if (type == stats::DataType::kUnspecified || !common::v1::DataType_IsValid(columns[c].type())) {
      return absl::InvalidArgumentError(absl::StrCat("rows.schema.columns[", c, "].type: unset"));
    }
    MLOPS_ASSIGN_OR_RETURN(stats::ColumnProfileBuilder b,
                           stats::ColumnProfileBuilder::Create(columns[c].name(), type));
    builders.push_back(std::move(b));
    types.push_back(type);
    reservoirs.emplace_back(std::max<int64_t>(0, max_samples));
  }
  for (int r = 0; r < rows.rows_size(); ++r) {
    const common::v1::Row& row = rows.rows(r);
    if (row.values_size() != columns.size()) {
      return absl::InvalidArgumentError(absl::StrCat("row ", r, ": ", row.values_size(),
                                                     " values, ", columns.size(), " columns"));
    }
    for (int c = 0; c < columns.size(); ++c) {
      const common::v1::Value& v = row.values(c);
      stats::ColumnProfileBuilder& b = builders[static_cast<size_t>(c)];
      const stats::DataType t = types[static_cast<size_t>(c)];
      const auto mismatch = [&] {
        return absl::InvalidArgumentError(absl::StrCat("row ", r, ", column \"", columns[c].name(),
                                                       "\": not a ",
                                                       std::string(stats::DataTypeName(t))));
      };
      double x = 0;
      switch (v.kind_case()) {
        case common::v1::Value::KIND_NOT_SET:
          b.AddNull();
          continue;
        case common::v1::Value::kInt64Value:
          if (t != stats::DataType::kInt64) return mismatch();
          b.AddInt64(v.int64_value());
          x = static_cast<double>(v.int64_value());
          break;
        case common::v1::Value::kDoubleValue:
          if (t != stats::DataType::kDouble) return mismatch();
          b.AddDouble(v.double_value());
          x = v.double_value();
          break;
        case common::v1::Value::kTimestampMicros:
          if (t != stats::DataType::kTimestamp) return mismatch();
          b.AddTimestamp(v.timestamp_micros());
          x = static_cast<double>(v.timestamp_micros());
          break;
        case common::v1::Value::kStringValue:
          if (t != stats::DataType::kString) return mismatch();
          b.AddString(v.string_value());
          continue;
        case common::v1::Value::kBoolValue:
          if (t != stats::DataType::kBool) return mismatch();
          b.AddBool(v.bool_value());
          continue;
      }
      if (max_samples > 0 && IsSampled(t) && std::isfinite(x)) {
        reservoirs[static_cast<size_t>(c)].Add(x);
      }
    }
  }
  BuiltReference out;
  out.profile.set_row_count(rows.rows_size());
  for (size_t c = 0; c < builders.size(); ++c) {
    stats::ColumnProfileToProto(builders[c].Finish(), out.profile.add_columns());
    if (max_samples > 0 && IsSampled(types[c])) {
      out.samples.emplace_back(columns[static_cast<int>(c)].name(), reservoirs[c].Take());
    }
  }
  return out;
}

absl::Status ValidateReferenceProfile(const common::v1::DatasetProfile& profile) {
  if (profile.columns().empty()) return absl::InvalidArgumentError("profile: no columns");
  for (int i = 0; i < profile.columns_size(); ++i) {
    const common::v1::ColumnProfile& c = profile.columns(i);
    const auto type = static_cast<stats::DataType>(c.type());
    if (!IsCategoricalColumn(type) && c.histogram().edges().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "profile.columns[", i, "] (\"", c.name(), "\"): numeric column without histogram edges"));
    }
    std::vector<double> edges(c.histogram().edges().begin(), c.histogram().edges().end());
    if (!edges.empty()) {
      absl::Status s = stats::ValidateHistogramEdges(edges);
      if (!s.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("profile.columns[", i, "].histogram.edges: ", s.message()));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ReferenceData> ReferenceDataOf(
    const v1::Reference& reference,
    const std::vector<std::pair<std::string, std::vector<double>>>& samples) {
  ReferenceData d;
  d.profile.row_count = reference.profile().row_count();
  for (const common::v1::ColumnProfile& c : reference.profile().columns()) {
    d.profile.columns.push_back(stats::ColumnProfileFromProto(c));
  }
  if (reference.has_prediction_profile()) {
    d.prediction_profile = stats::ColumnProfileFromProto(reference.prediction_profile());
  }
  for (const auto& [name, values] : samples) {
    MLOPS_ASSIGN_OR_RETURN(SortedSample s, SortedSample::FromValues(values));
    d.samples.emplace(name, std::move(s));
  }
  return d;
}

}  // namespace mlops::monitoring
