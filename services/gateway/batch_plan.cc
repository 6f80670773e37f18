#include "services/gateway/batch_plan.h"

#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/gateway/feature_matrix.h"
#include "services/gateway/row_output.h"

namespace mlops::gateway {
namespace {

namespace cv1 = ::mlops::common::v1;

bool CanFeed(InputType want, cv1::DataType have) {
  switch (want) {
    case InputType::kInt64: return have == cv1::DATA_TYPE_INT64;
    case InputType::kDouble: return have == cv1::DATA_TYPE_DOUBLE || have == cv1::DATA_TYPE_INT64;
    case InputType::kString: return have == cv1::DATA_TYPE_STRING;
    case InputType::kBool: return have == cv1::DATA_TYPE_BOOL;
    case InputType::kTimestamp: return have == cv1::DATA_TYPE_TIMESTAMP;
  }
  return false;
}

void AddOutputColumn(const std::string& name, cv1::DataType type, cv1::Schema* schema) {
  cv1::Column* c = schema->add_columns();
  c->set_name(name);
  c->set_type(type);
  c->set_role(cv1::COLUMN_ROLE_METADATA);
  c->set_description("batch scoring output");
}

// The output columns after the passthrough ones.
absl::Status AddOutputColumns(const ModelSignature& s, const std::string& prefix,
                              cv1::Schema* schema) {
  AddOutputColumn(prefix, cv1::DATA_TYPE_DOUBLE, schema);
  if (s.output == OutputKind::kRegression) return absl::OkStatus();
  AddOutputColumn(prefix + "_label", cv1::DATA_TYPE_STRING, schema);
  if (s.output != OutputKind::kMulticlass) return absl::OkStatus();
  for (int k = 0; k < s.num_classes; ++k) {
    const std::string by_label =
        k < static_cast<int>(s.class_labels.size()) ? absl::StrCat(prefix, "_p_", s.class_labels[k]) : "";
    const std::string name = IsName(by_label) ? by_label : absl::StrCat(prefix, "_p_", k);
    if (!IsName(name)) {
      return absl::InvalidArgumentError(absl::StrCat("output_prefix \"", prefix, "\": too long"));
    }
    AddOutputColumn(name, cv1::DATA_TYPE_DOUBLE, schema);
  }
  return absl::OkStatus();
}

// The input's one column of `role` (empty when there is none).
std::string ColumnWithRole(const cv1::Schema& input, cv1::ColumnRole role) {
  for (const cv1::Column& c : input.columns()) {
    if (c.role() == role) return c.name();
  }
  return "";
}

// POINT_IN_TIME: the columns the lookup joins on. The entity key is the
// column named like the model's entity key, else the input's ENTITY_KEY one.
absl::Status PlanJoinColumns(const ModelSignature& signature, const cv1::Schema& input,
                             const std::map<std::string, int>& by_name, BatchPlan* plan) {
  plan->timestamp_column = ColumnWithRole(input, cv1::COLUMN_ROLE_EVENT_TIMESTAMP);
  if (plan->timestamp_column.empty()) {
    return absl::FailedPreconditionError(
        "feature_source POINT_IN_TIME: the input dataset has no EVENT_TIMESTAMP column (features "
        "are looked up as of each row's event time)");
  }
  plan->entity_key_column = by_name.count(signature.entity_key) > 0
                                ? signature.entity_key
                                : ColumnWithRole(input, cv1::COLUMN_ROLE_ENTITY_KEY);
  if (plan->entity_key_column.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "feature_source POINT_IN_TIME: the input dataset has no entity key column (neither \"",
        signature.entity_key, "\", the model's entity key, nor an ENTITY_KEY column)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<BatchPlan> PlanBatch(const ModelSignature& signature, const cv1::Schema& input,
                                    const BatchJobSpec& spec) {
  std::map<std::string, int> by_name;
  for (int i = 0; i < input.columns_size(); ++i) by_name[input.columns(i).name()] = i;
  const bool point_in_time = spec.feature_source == kFeatureSourcePointInTime;
  BatchPlan plan;
  std::map<std::string, int> read_index;
  auto read = [&](const std::string& name) {
    auto [it, added] = read_index.emplace(name, static_cast<int>(plan.read_columns.size()));
    if (added) plan.read_columns.push_back(name);
    return it->second;
  };
  std::map<std::string, int> ref_index;
  for (const SignatureInput& in : signature.inputs) {
    auto it = by_name.find(in.name);
    if (it == by_name.end() && point_in_time && !in.feature_ref.empty()) {
      auto [ref, added] = ref_index.emplace(in.feature_ref, static_cast<int>(plan.feature_refs.size()));
      if (added) {
        plan.feature_refs.push_back(in.feature_ref);
        plan.ref_inputs.push_back(in.name);
      }
      plan.input_index.push_back(ref->second);  // offset by read_columns.size() below
      plan.fetched.push_back(true);
      continue;
    }
    if (it == by_name.end()) {
      return absl::FailedPreconditionError(
          point_in_time
              ? absl::StrCat("model input \"", in.name,
                             "\" is not a column of the input dataset and has no feature_ref to "
                             "look it up by")
              : absl::StrCat("input dataset has no column \"", in.name, "\" (a model input)"));
    }
    const cv1::Column& col = input.columns(it->second);
    if (!CanFeed(in.type, col.type())) {
      return absl::FailedPreconditionError(absl::StrCat(
          "input column \"", in.name, "\": type ", cv1::DataType_Name(col.type()),
          " cannot feed the model input"));
    }
    plan.input_index.push_back(read(in.name));
    plan.fetched.push_back(false);
  }
  if (point_in_time) {
    MLOPS_RETURN_IF_ERROR(PlanJoinColumns(signature, input, by_name, &plan));
  }
  std::vector<std::string> passthrough = spec.passthrough_columns;
  if (passthrough.empty()) {
    for (const cv1::Column& c : input.columns()) {
      if (c.role() == cv1::COLUMN_ROLE_ENTITY_KEY || c.role() == cv1::COLUMN_ROLE_EVENT_TIMESTAMP) {
        passthrough.push_back(c.name());
      }
    }
  }
  std::set<std::string> seen;
  for (const std::string& name : passthrough) {
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("passthrough_columns: \"", name, "\" is not a column of the input"));
    }
    if (!seen.insert(name).second) {
      return absl::InvalidArgumentError(absl::StrCat("passthrough_columns: \"", name, "\" twice"));
    }
    plan.passthrough_index.push_back(read(name));
    *plan.output_schema.add_columns() = input.columns(it->second);
  }
  if (point_in_time) {
    read(plan.entity_key_column);
    read(plan.timestamp_column);
    const int first_fetched = static_cast<int>(plan.read_columns.size());
    for (std::size_t j = 0; j < plan.fetched.size(); ++j) {
      if (plan.fetched[j]) plan.input_index[j] += first_fetched;
    }
  }
  const std::string prefix = spec.output_prefix.empty() ? "prediction" : spec.output_prefix;
  if (!IsName(prefix)) {
    return absl::InvalidArgumentError(absl::StrCat("output_prefix \"", prefix, "\": not a valid name"));
  }
  const int first_output = plan.output_schema.columns_size();
  if (absl::Status s = AddOutputColumns(signature, prefix, &plan.output_schema); !s.ok()) return s;
  for (int i = first_output; i < plan.output_schema.columns_size(); ++i) {
    if (!seen.insert(plan.output_schema.columns(i).name()).second) {
      return absl::InvalidArgumentError(absl::StrCat("output column \"",
                                                     plan.output_schema.columns(i).name(),
                                                     "\" clashes with a passthrough column"));
    }
  }
  return plan;
}

absl::Status CheckOutputSchema(const std::string& dataset, const cv1::Schema& existing,
                               const cv1::Schema& wanted) {
  bool same = existing.columns_size() == wanted.columns_size();
  for (int i = 0; same && i < wanted.columns_size(); ++i) {
    same = existing.columns(i).name() == wanted.columns(i).name() &&
           existing.columns(i).type() == wanted.columns(i).type();
  }
  if (same) return absl::OkStatus();
  std::string want;
  for (const cv1::Column& c : wanted.columns()) {
    absl::StrAppend(&want, want.empty() ? "" : ", ", c.name(), " ", cv1::DataType_Name(c.type()));
  }
  return absl::FailedPreconditionError(absl::StrCat("output dataset \"", dataset,
                                                    "\" exists with another schema; the job writes (",
                                                    want, ")"));
}

absl::Status CheckFetchedTypes(const ModelSignature& signature, const BatchPlan& plan,
                               const std::vector<cv1::DataType>& types) {
  if (types.size() != plan.feature_refs.size()) {
    return absl::InternalError(absl::StrCat(types.size(), " feature types for ",
                                            plan.feature_refs.size(), " feature refs"));
  }
  const int first_fetched = static_cast<int>(plan.read_columns.size());
  for (std::size_t j = 0; j < signature.inputs.size(); ++j) {
    if (!plan.fetched[j]) continue;
    const SignatureInput& in = signature.inputs[j];
    const cv1::DataType type = types[static_cast<std::size_t>(plan.input_index[j] - first_fetched)];
    if (!CanFeed(in.type, type)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "model input \"", in.name, "\": feature_ref \"", in.feature_ref, "\" is ",
          cv1::DataType_Name(type), ", which cannot feed the model input"));
    }
  }
  return absl::OkStatus();
}

absl::Status AppendModelInputs(const ModelSignature& signature, const BatchPlan& plan,
                               const cv1::Row& read, int64_t row, std::vector<float>* values) {
  const std::size_t width = plan.read_columns.size() + plan.feature_refs.size();
  if (read.values_size() != static_cast<int>(width)) {
    return absl::InternalError(absl::StrCat("row ", row, ": ", read.values_size(),
                                            " values read for ", width, " columns"));
  }
  for (std::size_t j = 0; j < signature.inputs.size(); ++j) {
    const cv1::Value& v = read.values(plan.input_index[j]);
    // A fetched feature may be NULL (no event as of the row's time, expired)
    // or non-finite: missing to the model, as Predict's lookups.
    if (plan.fetched[j] && (v.kind_case() == cv1::Value::KIND_NOT_SET ||
                            (v.kind_case() == cv1::Value::kDoubleValue && !std::isfinite(v.double_value())))) {
      values->push_back(std::numeric_limits<float>::quiet_NaN());
      continue;
    }
    absl::StatusOr<float> f = InputToFloat(signature.inputs[j], v, row);
    if (!f.ok()) return f.status();
    values->push_back(*f);
  }
  return absl::OkStatus();
}

cv1::Row OutputRow(const ModelSignature& signature, const BatchPlan& plan, const cv1::Row& read,
                   const float* outputs, std::size_t output_count) {
  cv1::Row row;
  for (int index : plan.passthrough_index) *row.add_values() = read.values(index);
  inference::v1::RowPrediction p;
  FillOutput(signature, outputs, output_count, &p);
  row.add_values()->set_double_value(p.score());
  if (signature.output == OutputKind::kRegression) return row;
  row.add_values()->set_string_value(p.predicted_label());
  for (double prob : p.class_probabilities()) row.add_values()->set_double_value(prob);
  return row;
}

}  // namespace mlops::gateway
