#include "services/registry/xgb_model_tester.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/xgboost/xgb_booster.h"
#include "mlops/registry/v1/registry.pb.h"
#include "services/registry/model_tests.h"

namespace mlops::registry {
namespace {

// Every test of `gate` as an ERROR with the same message.
std::vector<CheckResult> AllErrors(const v1::StageGate& gate, const std::string& message) {
  std::vector<CheckResult> out;
  auto add = [&](const std::string& name, CheckKind kind) {
    CheckResult c;
    c.name = name;
    c.kind = kind;
    c.outcome = CheckOutcome::kError;
    c.message = message;
    out.push_back(std::move(c));
  };
  for (const auto& t : gate.latency_tests()) add(t.name().empty() ? "latency" : t.name(), CheckKind::kLatency);
  for (const auto& t : gate.bias_tests()) add(t.name().empty() ? "bias" : t.name(), CheckKind::kBias);
  for (const auto& t : gate.regression_tests()) {
    add(t.name().empty() ? "regression set" : t.name(), CheckKind::kRegressionSet);
  }
  return out;
}

template <typename Fn>
CheckResult Timed(Fn&& run) {
  const auto start = std::chrono::steady_clock::now();
  CheckResult result = run();
  result.duration_micros = std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::steady_clock::now() - start)
                               .count();
  return result;
}

}  // namespace

std::vector<CheckResult> XgbModelTester::Run(const std::string& model_tests,
                                             const VersionRecord& version,
                                             const std::string& artifact) const {
  v1::StageGate gate;
  if (!gate.ParseFromString(model_tests)) {
    CheckResult c;
    c.name = "model tests";
    c.outcome = CheckOutcome::kError;
    c.message = "the stored model tests do not parse";
    return {c};
  }
  v1::RegisterModelVersionHeader metadata;
  metadata.ParseFromString(version.metadata);
  if (metadata.flavor() != v1::FLAVOR_XGBOOST) {
    return AllErrors(gate, absl::StrCat("model tests need the xgboost flavor, not ",
                                        v1::Flavor_Name(metadata.flavor())));
  }
  if (metadata.signature().inputs_size() == 0) {
    return AllErrors(gate, "the version has no signature: its inputs are unknown");
  }
  absl::StatusOr<xgb::XgbBooster> booster = xgb::XgbBooster::Load(artifact);
  if (!booster.ok()) return AllErrors(gate, std::string(booster.status().message()));
  (void)booster->SetParam("nthread", "1");
  const PredictFn predict = [&](const float* values, std::size_t rows, std::size_t cols) {
    return booster->PredictDense(values, rows, cols);
  };
  const v1::ModelSignature& signature = metadata.signature();
  std::vector<CheckResult> out;
  for (const auto& t : gate.latency_tests()) {
    out.push_back(Timed([&] { return RunLatencyTest(t, signature, predict); }));
  }
  for (const auto& t : gate.bias_tests()) {
    out.push_back(Timed([&] { return RunBiasTest(t, signature, predict); }));
  }
  for (const auto& t : gate.regression_tests()) {
    out.push_back(Timed([&] { return RunRegressionSetTest(t, signature, predict); }));
  }
  return out;
}

}  // namespace mlops::registry
