#pragma once
// The gate's model tests, run against any predictor: latency budget (time
// single-row or small-batch predictions after a warm-up), bias (a metric's gap
// across the groups of a column), regression set (known inputs -> known
// outputs within numpy.isclose tolerances). Also their validation when a
// policy is set. Thread-safe (no state).

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/xgboost/xgb_booster.h"
#include "mlops/registry/v1/registry.pb.h"
#include "services/registry/gate_policy.h"

namespace mlops::registry {

// Predictions for `rows` rows of `cols` floats.
using PredictFn =
    std::function<absl::StatusOr<xgb::Prediction>(const float* values, std::size_t rows,
                                                  std::size_t cols)>;

// InvalidArgument naming the field (`field` is e.g. "policy.production").
absl::Status ValidateModelTests(const v1::StageGate& gate, const std::string& field);

CheckResult RunLatencyTest(const v1::LatencyBudgetTest& test, const v1::ModelSignature& signature,
                           const PredictFn& predict);
CheckResult RunBiasTest(const v1::BiasTest& test, const v1::ModelSignature& signature,
                        const PredictFn& predict);
CheckResult RunRegressionSetTest(const v1::RegressionSetTest& test,
                                 const v1::ModelSignature& signature, const PredictFn& predict);

// A bias metric over scores (probability or value) and labels; the decision
// threshold turns binary scores into classes. NaN when undefined (AUC of one
// class, a rate with an empty denominator).
double BiasMetric(const std::string& metric, const std::vector<double>& scores,
                  const std::vector<double>& labels, double threshold);

}  // namespace mlops::registry
