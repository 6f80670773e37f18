#include "services/gateway/feature_matrix.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace mlops::gateway {
namespace {

namespace cv1 = ::mlops::common::v1;
constexpr float kMissing = std::numeric_limits<float>::quiet_NaN();

const char* TypeName(InputType t) {
  switch (t) {
    case InputType::kInt64: return "INT64";
    case InputType::kDouble: return "DOUBLE";
    case InputType::kString: return "STRING";
    case InputType::kBool: return "BOOL";
    case InputType::kTimestamp: return "TIMESTAMP";
  }
  return "?";
}

const char* KindName(const cv1::Value& v) {
  switch (v.kind_case()) {
    case cv1::Value::kInt64Value: return "INT64";
    case cv1::Value::kDoubleValue: return "DOUBLE";
    case cv1::Value::kStringValue: return "STRING";
    case cv1::Value::kBoolValue: return "BOOL";
    case cv1::Value::kTimestampMicros: return "TIMESTAMP";
    default: return "NULL";
  }
}

absl::Status Bad(int64_t row, const std::string& feature, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("row ", row, ", feature \"", feature, "\": ", what));
}

// One value as the model sees it. `fetched` values may be NULL (missing).
absl::StatusOr<float> ToFloat(const SignatureInput& in, const cv1::Value& v, int64_t row,
                              bool fetched) {
  if (v.kind_case() == cv1::Value::KIND_NOT_SET) {
    if (in.nullable || fetched) return kMissing;
    return Bad(row, in.name, "NULL not allowed");
  }
  auto wrong = [&] {
    return Bad(row, in.name, absl::StrCat("expected ", TypeName(in.type), ", got ", KindName(v)));
  };
  switch (in.type) {
    case InputType::kInt64:
      if (v.kind_case() != cv1::Value::kInt64Value) return wrong();
      return static_cast<float>(v.int64_value());
    case InputType::kDouble: {
      double d;
      if (v.kind_case() == cv1::Value::kDoubleValue) {
        d = v.double_value();
      } else if (v.kind_case() == cv1::Value::kInt64Value) {
        d = static_cast<double>(v.int64_value());
      } else {
        return wrong();
      }
      if (!std::isfinite(d)) {
        if (!in.allow_non_finite && !fetched) return Bad(row, in.name, "NaN/inf not allowed");
        return kMissing;
      }
      return static_cast<float>(d);
    }
    case InputType::kBool:
      if (v.kind_case() != cv1::Value::kBoolValue) return wrong();
      return v.bool_value() ? 1.0f : 0.0f;
    case InputType::kTimestamp:
      if (v.kind_case() != cv1::Value::kTimestampMicros) return wrong();
      return static_cast<float>(v.timestamp_micros());
    case InputType::kString: {
      if (v.kind_case() != cv1::Value::kStringValue) return wrong();
      for (std::size_t i = 0; i < in.categories.size(); ++i) {
        if (in.categories[i] == v.string_value()) return static_cast<float>(i);
      }
      return kMissing;  // unknown category
    }
  }
  return wrong();
}

}  // namespace

namespace {

// The input of `signature` named `name` (-1: none); `hint` is tried first.
int FindInput(const ModelSignature& signature, const std::string& name, std::size_t hint) {
  const std::vector<SignatureInput>& inputs = signature.inputs;
  if (hint < inputs.size() && inputs[hint].name == name) return static_cast<int>(hint);
  for (std::size_t j = 0; j < inputs.size(); ++j) {
    if (inputs[j].name == name) return static_cast<int>(j);
  }
  return -1;
}

}  // namespace

absl::StatusOr<InlinePositions> IndexInlineFeatures(const ModelSignature& signature,
                                                    const inference::v1::PredictRequest& request) {
  InlinePositions positions(signature.inputs.size(), -1);
  for (int i = 0; i < request.feature_names_size(); ++i) {
    const std::string& name = request.feature_names(i);
    const int j = FindInput(signature, name, static_cast<std::size_t>(i));
    if (j < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("feature_names[", i, "] \"", name, "\": not an input of the model"));
    }
    if (positions[static_cast<std::size_t>(j)] >= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("feature_names[", i, "] \"", name, "\": given twice"));
    }
    positions[static_cast<std::size_t>(j)] = i;
  }
  for (int r = 0; r < request.rows_size(); ++r) {
    const int n = request.rows(r).features().values_size();
    if (n != 0 && n != request.feature_names_size()) {
      return absl::InvalidArgumentError(absl::StrCat("row ", r, ": ", n, " values for ",
                                                     request.feature_names_size(),
                                                     " feature_names"));
    }
    if (n == 0 && !request.rows(r).has_entity_key()) {
      return absl::InvalidArgumentError(absl::StrCat("row ", r, ": neither features nor entity key"));
    }
  }
  return positions;
}

InlinePositions PositionsOf(const ModelSignature& signature,
                            const inference::v1::PredictRequest& request) {
  InlinePositions positions(signature.inputs.size(), -1);
  for (int i = 0; i < request.feature_names_size(); ++i) {
    const int j = FindInput(signature, request.feature_names(i), static_cast<std::size_t>(i));
    if (j >= 0 && positions[static_cast<std::size_t>(j)] < 0) positions[static_cast<std::size_t>(j)] = i;
  }
  return positions;
}

std::vector<std::string> RefsToFetch(const ModelSignature& signature,
                                     const InlinePositions& positions) {
  std::vector<std::string> refs;
  for (std::size_t j = 0; j < signature.inputs.size(); ++j) {
    const SignatureInput& in = signature.inputs[j];
    if ((j >= positions.size() || positions[j] < 0) && !in.feature_ref.empty()) {
      refs.push_back(in.feature_ref);
    }
  }
  return refs;
}

cv1::Row FeatureMatrix::InputRow(std::size_t row) const {
  cv1::Row out;
  for (std::size_t j = 0; j < cols; ++j) *out.add_values() = *inputs[row * cols + j];
  return out;
}

absl::StatusOr<FeatureMatrix> BuildFeatureMatrix(const ModelSignature& signature,
                                                 const inference::v1::PredictRequest& request,
                                                 const std::vector<int>& rows,
                                                 const InlinePositions& positions,
                                                 const FetchedFeatures& fetched) {
  FeatureMatrix m;
  m.cols = signature.inputs.size();
  m.values.reserve(rows.size() * m.cols);
  m.inputs.reserve(rows.size() * m.cols);
  m.missing.resize(rows.size());
  m.entity_found.assign(rows.size(), true);
  const cv1::Value* const null_value = &cv1::Value::default_instance();
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const int r = rows[k];
    const inference::v1::PredictRow& row = request.rows(r);
    const bool has_inline = row.features().values_size() > 0;
    const int answer = fetched.answer_row.empty() ? -1 : fetched.answer_row[r];
    bool any_known = false;
    bool any_fetched = false;
    for (std::size_t j = 0; j < m.cols; ++j) {
      const SignatureInput& in = signature.inputs[j];
      const int position = j < positions.size() ? positions[j] : -1;
      const cv1::Value* v = nullptr;
      bool from_store = false;
      const bool is_inline = position >= 0 && has_inline;
      auto column = answer >= 0 && !is_inline ? fetched.column_of_ref.find(in.feature_ref)
                                              : fetched.column_of_ref.end();
      if (is_inline) {
        v = &row.features().values(position);
      } else if (column != fetched.column_of_ref.end()) {
        const int col = column->second;
        const features::v1::OnlineFeatureRow& frow = fetched.response->rows(answer);
        v = col < frow.values_size() ? &frow.values(col) : null_value;
        from_store = true;
        any_fetched = true;
        const auto status = col < frow.statuses_size() ? frow.statuses(col)
                                                       : features::v1::FEATURE_STATUS_UNSPECIFIED;
        if (status != features::v1::FEATURE_STATUS_ENTITY_UNKNOWN) any_known = true;
        if (status != features::v1::FEATURE_STATUS_PRESENT) {
          m.missing[k].push_back(in.name);
          v = null_value;
        }
      } else {
        return Bad(r, in.name, row.has_entity_key() ? "missing (and it has no feature_ref)"
                                                    : "missing (no entity key to fetch it by)");
      }
      absl::StatusOr<float> f = ToFloat(in, *v, r, from_store);
      if (!f.ok()) return f.status();
      m.values.push_back(*f);
      m.inputs.push_back(v);
    }
    if (any_fetched && !any_known) m.entity_found[k] = false;
  }
  return m;
}

absl::StatusOr<float> InputToFloat(const SignatureInput& input, const cv1::Value& value,
                                   int64_t row) {
  return ToFloat(input, value, row, /*fetched=*/false);
}

absl::StatusOr<std::string> EntityKeyText(const ModelSignature& signature,
                                          const cv1::Value& key, int row) {
  if (signature.entity_key.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("row ", row, ": entity_key given but the model has no entity key"));
  }
  auto bad = [&](const char* got) {
    return absl::InvalidArgumentError(absl::StrCat("row ", row, ", entity key \"",
                                                   signature.entity_key, "\": expected ",
                                                   TypeName(signature.entity_key_type), ", got ", got));
  };
  switch (key.kind_case()) {
    case cv1::Value::kInt64Value:
      if (signature.entity_key_type != InputType::kInt64) return bad("INT64");
      return std::to_string(key.int64_value());
    case cv1::Value::kStringValue:
      if (signature.entity_key_type != InputType::kString) return bad("STRING");
      return key.string_value();
    case cv1::Value::KIND_NOT_SET:
      return bad("NULL");
    default:
      return bad(KindName(key));
  }
}

}  // namespace mlops::gateway
