#pragma once
// The ModelTester for XGBoost artifacts: parses the gate's tests, loads the
// artifact once per run (single-threaded predictions, as the gateway serves
// them) and runs every latency, bias and regression-set test. Stateless;
// thread-safe.

#include "services/registry/model_tester.h"

namespace mlops::registry {

class XgbModelTester : public ModelTester {
 public:
  std::vector<CheckResult> Run(const std::string& model_tests, const VersionRecord& version,
                               const std::string& artifact) const override;
};

}  // namespace mlops::registry
