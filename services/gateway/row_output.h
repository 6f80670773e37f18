#pragma once
// Turns a model's outputs for one row into RowPrediction fields: score,
// class probabilities, label and margin (FillOutput; Predict and batch
// scoring share it), and TreeSHAP contributions into Explanation messages:
// one per output (one for regression and binary, one per class for
// multiclass), contributions named by the signature's inputs in signature
// order, with the value the model saw and the bias. Pure functions;
// thread-safe.

#include <cstddef>

#include "common/xgboost/xgb_booster.h"
#include "mlops/inference/v1/inference.pb.h"
#include "services/gateway/model_runtime.h"

namespace mlops::gateway {

// Fills score, probabilities, label and margin from one row's `outputs`
// transformed model outputs at `out`.
void FillOutput(const ModelSignature& signature, const float* out, std::size_t outputs,
                inference::v1::RowPrediction* p);

// Adds row `row`'s explanations (of `contributions`) to `out`. `inputs` holds
// the row's values in signature order. InternalError when the contributions'
// columns differ from the signature's inputs.
absl::Status AddExplanations(const ModelSignature& signature,
                             const xgb::Contributions& contributions, std::size_t row,
                             const common::v1::Row& inputs, inference::v1::RowPrediction* out);

}  // namespace mlops::gateway
