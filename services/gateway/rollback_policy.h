#pragma once
// The analysis of one rollout step as a pure function: given the plan, the
// step's start, the clock and the variants' statistics, decide whether to
// wait, advance to the next canary step, complete, or roll back (a breach of
// any threshold, unless the plan disables automatic rollback). Thread-safe
// (no state).

#include <cstdint>
#include <string>
#include <vector>

#include "services/gateway/rollout.h"
#include "services/gateway/variant_stats.h"

namespace mlops::gateway {

struct CheckResult {
  std::string name;  // "error_rate", "p99_latency", "prediction_shift", "shadow_agreement", ...
  double measured = 0;
  double limit = 0;
  bool evaluated = false;  // enough rows to judge
  bool passed = false;
  std::string message;
};

enum class AnalysisAction { kWait, kAdvance, kComplete, kRollback };

struct AnalysisResult {
  AnalysisAction action = AnalysisAction::kWait;
  std::vector<CheckResult> checks;
  std::string reason;  // kRollback: which checks breached, with figures
  bool breached = false;  // a check failed (also when auto rollback is off)
};

struct AnalysisInput {
  const RolloutPlan* plan = nullptr;
  int step = 0;
  int64_t now_micros = 0;
  int64_t step_started_at_micros = 0;
  VariantSnapshot primary;
  VariantSnapshot candidate;  // for shadows: the shadow variant
  ShadowSnapshot shadow;
};

AnalysisResult Analyze(const AnalysisInput& in);

// Shift of `candidate`'s distribution against `primary`'s: PSI or
// Jensen-Shannon distance over 10 equal-width bins of the primary's range, or
// the two-sample KS statistic. 0 when either side is empty.
double PredictionShift(ShiftMetric metric, const std::vector<double>& primary,
                       const std::vector<double>& candidate);

}  // namespace mlops::gateway
