#include "services/registry/rollout_spec_check.h"

#include "absl/strings/str_cat.h"

namespace mlops::registry {
namespace {

absl::Status CheckWindow(int64_t micros, const std::string& field) {
  if (micros < 1000000) return absl::InvalidArgumentError(field + ": must be >= 1 s");
  return absl::OkStatus();
}

absl::Status CheckPercent(double p, const std::string& field) {
  if (!(p > 0 && p <= 100)) return absl::InvalidArgumentError(field + ": must be in (0, 100]");
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckRolloutSpec(const v1::RolloutSpec& s, const std::string& f) {
  switch (s.strategy()) {
    case v1::ROLLOUT_STRATEGY_UNSPECIFIED:
      break;
    case v1::ROLLOUT_STRATEGY_CANARY: {
      if (!s.has_canary()) return absl::InvalidArgumentError(f + ".canary: required");
      const auto& steps = s.canary().steps();
      if (steps.empty() || steps.size() > 20) {
        return absl::InvalidArgumentError(f + ".canary.steps: 1 .. 20 steps");
      }
      double prev = 0;
      for (int i = 0; i < steps.size(); ++i) {
        const std::string sf = absl::StrCat(f, ".canary.steps[", i, "]");
        if (absl::Status st = CheckPercent(steps[i].percent(), sf + ".percent"); !st.ok()) return st;
        if (steps[i].percent() <= prev) {
          return absl::InvalidArgumentError(sf + ".percent: must be strictly increasing");
        }
        prev = steps[i].percent();
        if (absl::Status st = CheckWindow(steps[i].analysis_window_micros(),
                                          sf + ".analysis_window_micros");
            !st.ok()) {
          return st;
        }
      }
      if (prev != 100) return absl::InvalidArgumentError(f + ".canary.steps: the last must be 100");
      break;
    }
    case v1::ROLLOUT_STRATEGY_SHADOW:
      if (!s.has_shadow()) return absl::InvalidArgumentError(f + ".shadow: required");
      if (absl::Status st = CheckPercent(s.shadow().mirror_percent(), f + ".shadow.mirror_percent");
          !st.ok()) {
        return st;
      }
      return CheckWindow(s.shadow().analysis_window_micros(), f + ".shadow.analysis_window_micros");
    case v1::ROLLOUT_STRATEGY_AB:
      if (!s.has_ab()) return absl::InvalidArgumentError(f + ".ab: required");
      if (!(s.ab().candidate_percent() > 0 && s.ab().candidate_percent() < 100)) {
        return absl::InvalidArgumentError(f + ".ab.candidate_percent: must be in (0, 100)");
      }
      return CheckWindow(s.ab().analysis_window_micros(), f + ".ab.analysis_window_micros");
    case v1::ROLLOUT_STRATEGY_BLUE_GREEN:
      if (s.has_blue_green() && s.blue_green().analysis_window_micros() != 0) {
        return CheckWindow(s.blue_green().analysis_window_micros(),
                           f + ".blue_green.analysis_window_micros");
      }
      break;
    default:
      return absl::InvalidArgumentError(f + ".strategy: unknown");
  }
  const v1::AnalysisThresholds& t = s.thresholds();
  if (t.max_error_rate() < 0 || t.max_error_rate() > 1) {
    return absl::InvalidArgumentError(f + ".thresholds.max_error_rate: must be in [0, 1]");
  }
  if (t.max_p99_latency_micros() < 0 || t.max_prediction_shift() < 0 || t.min_requests() < 0) {
    return absl::InvalidArgumentError(f + ".thresholds: negative limit");
  }
  return absl::OkStatus();
}

}  // namespace mlops::registry
