#include "services/registry/inline_matrix.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace mlops::registry {
namespace {

namespace cv1 = ::mlops::common::v1;

constexpr float kMissing = std::numeric_limits<float>::quiet_NaN();

absl::StatusOr<int> ColumnIndex(const v1::InlineData& data, const std::string& column,
                                const std::string& field) {
  for (int i = 0; i < data.schema().columns_size(); ++i) {
    if (data.schema().columns(i).name() == column) return i;
  }
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": no column \"", column, "\" in the data's schema"));
}

const cv1::Value& Cell(const v1::InlineData& data, int row, int column) {
  static const cv1::Value* const kNull = new cv1::Value();
  const cv1::Row& r = data.rows(row);
  return column < r.values_size() ? r.values(column) : *kNull;
}

absl::StatusOr<float> ToModelValue(const v1::SignatureInput& input, const cv1::Value& value,
                                   const std::string& where) {
  if (value.kind_case() == cv1::Value::KIND_NOT_SET) {
    if (!input.nullable()) return absl::InvalidArgumentError(absl::StrCat(where, ": NULL not allowed"));
    return kMissing;
  }
  auto wrong_type = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": expected ", cv1::DataType_Name(input.type())));
  };
  switch (input.type()) {
    case cv1::DATA_TYPE_INT64:
      if (!value.has_int64_value()) return wrong_type();
      return static_cast<float>(value.int64_value());
    case cv1::DATA_TYPE_DOUBLE:
      if (value.has_int64_value()) return static_cast<float>(value.int64_value());
      if (!value.has_double_value()) return wrong_type();
      if (!std::isfinite(value.double_value()) && !input.allow_non_finite()) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": NaN/inf not allowed"));
      }
      return std::isnan(value.double_value()) ? kMissing : static_cast<float>(value.double_value());
    case cv1::DATA_TYPE_BOOL:
      if (!value.has_bool_value()) return wrong_type();
      return value.bool_value() ? 1.0f : 0.0f;
    case cv1::DATA_TYPE_TIMESTAMP:
      if (!value.has_timestamp_micros()) return wrong_type();
      return static_cast<float>(value.timestamp_micros());
    case cv1::DATA_TYPE_STRING:
      if (!value.has_string_value()) return wrong_type();
      for (int i = 0; i < input.categories_size(); ++i) {
        if (input.categories(i) == value.string_value()) return static_cast<float>(i);
      }
      return kMissing;  // unknown category
    default:
      return absl::InvalidArgumentError(absl::StrCat(where, ": the input has no usable type"));
  }
}

}  // namespace

absl::StatusOr<FeatureMatrix> BuildFeatureMatrix(const v1::ModelSignature& signature,
                                                 const v1::InlineData& data,
                                                 const std::string& field) {
  FeatureMatrix matrix;
  matrix.rows = static_cast<std::size_t>(data.rows_size());
  matrix.cols = static_cast<std::size_t>(signature.inputs_size());
  std::vector<int> columns;
  for (const v1::SignatureInput& input : signature.inputs()) {
    auto index = ColumnIndex(data, input.name(), field);
    if (!index.ok()) return index.status();
    columns.push_back(*index);
  }
  matrix.values.reserve(matrix.rows * matrix.cols);
  for (int row = 0; row < data.rows_size(); ++row) {
    for (int i = 0; i < signature.inputs_size(); ++i) {
      const v1::SignatureInput& input = signature.inputs(i);
      auto value = ToModelValue(input, Cell(data, row, columns[i]),
                                absl::StrCat(field, " row ", row, ", input \"", input.name(), "\""));
      if (!value.ok()) return value.status();
      matrix.values.push_back(*value);
    }
  }
  return matrix;
}

absl::StatusOr<std::vector<std::string>> ColumnAsText(const v1::InlineData& data,
                                                      const std::string& column,
                                                      const std::string& field) {
  auto index = ColumnIndex(data, column, field);
  if (!index.ok()) return index.status();
  std::vector<std::string> out;
  for (int row = 0; row < data.rows_size(); ++row) {
    const cv1::Value& v = Cell(data, row, *index);
    switch (v.kind_case()) {
      case cv1::Value::kStringValue: out.push_back(v.string_value()); break;
      case cv1::Value::kInt64Value: out.push_back(absl::StrCat(v.int64_value())); break;
      case cv1::Value::kDoubleValue: out.push_back(absl::StrCat(v.double_value())); break;
      case cv1::Value::kBoolValue: out.push_back(v.bool_value() ? "true" : "false"); break;
      case cv1::Value::kTimestampMicros: out.push_back(absl::StrCat(v.timestamp_micros())); break;
      default: out.push_back("(null)");
    }
  }
  return out;
}

absl::StatusOr<std::vector<double>> ColumnAsNumber(const v1::InlineData& data,
                                                   const std::string& column,
                                                   const std::string& field) {
  auto index = ColumnIndex(data, column, field);
  if (!index.ok()) return index.status();
  std::vector<double> out;
  for (int row = 0; row < data.rows_size(); ++row) {
    const cv1::Value& v = Cell(data, row, *index);
    if (v.has_bool_value()) {
      out.push_back(v.bool_value() ? 1 : 0);
    } else if (v.has_int64_value()) {
      out.push_back(static_cast<double>(v.int64_value()));
    } else if (v.has_double_value() && std::isfinite(v.double_value())) {
      out.push_back(v.double_value());
    } else {
      return absl::InvalidArgumentError(absl::StrCat(field, " row ", row, ", column \"", column,
                                                     "\": expected a number or a bool"));
    }
  }
  return out;
}

}  // namespace mlops::registry
