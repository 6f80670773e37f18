#include "services/gateway/row_output.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"

namespace mlops::gateway {

void FillOutput(const ModelSignature& s, const float* out, std::size_t outputs,
                inference::v1::RowPrediction* p) {
  auto label = [&](std::size_t i) {
    return i < s.class_labels.size() ? s.class_labels[i] : std::to_string(i);
  };
  if (s.output == OutputKind::kMulticlass) {
    std::size_t best = 0;
    for (std::size_t i = 0; i < outputs; ++i) {
      p->add_class_probabilities(out[i]);
      if (out[i] > out[best]) best = i;
    }
    p->set_score(out[best]);
    p->set_predicted_label(label(best));
    p->set_margin(std::log(std::max(1e-12, static_cast<double>(out[best]))));
  } else if (s.output == OutputKind::kBinaryProbability) {
    const double prob = out[0];
    p->set_score(prob);
    p->set_predicted_label(label(prob >= s.decision_threshold ? 1 : 0));
    const double clamped = std::min(std::max(prob, 1e-12), 1 - 1e-12);
    p->set_margin(std::log(clamped / (1 - clamped)));
  } else {
    p->set_score(out[0]);
    p->set_margin(out[0]);
  }
}

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
