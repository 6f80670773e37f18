#include "services/gateway/batch_plan.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
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

}  // namespace

absl::StatusOr<BatchPlan> PlanBatch(const ModelSignature& signature, const cv1::Schema& input,
                                    const BatchJobSpec& spec) {
  std::map<std::string, int> by_name;
  for (int i = 0; i < input.columns_size(); ++i) by_name[input.columns(i).name()] = i;
  BatchPlan plan;
  std::map<std::string, int> read_index;
  auto read = [&](const std::string& name) {
    auto [it, added] = read_index.emplace(name, static_cast<int>(plan.read_columns.size()));
    if (added) plan.read_columns.push_back(name);
    return it->second;
  };
  for (const SignatureInput& in : signature.inputs) {
    auto it = by_name.find(in.name);
    if (it == by_name.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("input dataset has no column \"", in.name, "\" (a model input)"));
    }
    const cv1::Column& col = input.columns(it->second);
    if (!CanFeed(in.type, col.type())) {
      return absl::FailedPreconditionError(absl::StrCat(
          "input column \"", in.name, "\": type ", cv1::DataType_Name(col.type()),
          " cannot feed the model input"));
    }
    plan.input_index.push_back(read(in.name));
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

absl::Status AppendModelInputs(const ModelSignature& signature, const BatchPlan& plan,
                               const cv1::Row& read, int64_t row, std::vector<float>* values) {
  if (read.values_size() != static_cast<int>(plan.read_columns.size())) {
    return absl::InternalError(absl::StrCat("row ", row, ": ", read.values_size(),
                                            " values read for ", plan.read_columns.size(),
                                            " columns"));
  }
  for (std::size_t j = 0; j < signature.inputs.size(); ++j) {
    absl::StatusOr<float> f = InputToFloat(signature.inputs[j], read.values(plan.input_index[j]), row);
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
