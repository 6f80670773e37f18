#pragma once
// Runs a gate's model tests (latency budget, bias, regression set), which need
// the artifact loaded. The domain only sees this interface; the XGBoost
// implementation lives in the service layer (xgb_model_tester.h).

#include <string>
#include <vector>

#include "services/registry/gate_policy.h"
#include "services/registry/registry_types.h"

namespace mlops::registry {

class ModelTester {
 public:
  virtual ~ModelTester() = default;
  // One CheckResult per test in `model_tests` (StageGate::model_tests). A
  // test that cannot run (artifact that does not load, data missing an input)
  // is an ERROR result, never a crash. Must be thread-safe.
  virtual std::vector<CheckResult> Run(const std::string& model_tests,
                                       const VersionRecord& version,
                                       const std::string& artifact) const = 0;
};

}  // namespace mlops::registry
