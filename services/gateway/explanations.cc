#include "services/gateway/explanations.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace mlops::gateway {

absl::Status AddExplanations(const ModelSignature& signature,
                             const xgb::Contributions& contributions, std::size_t row,
                             const common::v1::Row& inputs, inference::v1::RowPrediction* out) {
  const std::size_t cols = signature.inputs.size();
  if (contributions.cols != cols || row >= contributions.rows) {
    return absl::InternalError(absl::StrCat("explanation: contributions of ", contributions.cols,
                                            " columns for a signature of ", cols, " inputs"));
  }
  const bool multiclass = signature.output == OutputKind::kMulticlass;
  for (std::size_t k = 0; k < contributions.outputs; ++k) {
    const float* values = contributions.At(row, k);
    inference::v1::Explanation* e = out->add_explanations();
    e->set_output_index(static_cast<int>(k));
    if (multiclass) {
      e->set_class_label(k < signature.class_labels.size() ? signature.class_labels[k]
                                                           : std::to_string(k));
    }
    for (std::size_t j = 0; j < cols; ++j) {
      inference::v1::FeatureContribution* c = e->add_contributions();
      c->set_feature(signature.inputs[j].name);
      c->set_contribution(values[j]);
      if (static_cast<int>(j) < inputs.values_size()) {
        *c->mutable_value() = inputs.values(static_cast<int>(j));
      }
    }
    e->set_bias(values[cols]);
  }
  return absl::OkStatus();
}

}  // namespace mlops::gateway
