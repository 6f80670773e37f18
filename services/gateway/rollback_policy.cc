#include "services/gateway/rollback_policy.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/stats/distance.h"

namespace mlops::gateway {
namespace {

constexpr int kBins = 10;

std::vector<int64_t> Bin(const std::vector<double>& v, double lo, double hi) {
  std::vector<int64_t> counts(kBins, 0);
  const double width = hi > lo ? (hi - lo) / kBins : 1.0;
  for (double x : v) {
    int b = static_cast<int>(std::floor((x - lo) / width));
    counts[std::clamp(b, 0, kBins - 1)]++;
  }
  return counts;
}

double Ks(std::vector<double> a, std::vector<double> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::size_t i = 0, j = 0;
  double d = 0;
  while (i < a.size() && j < b.size()) {
    const double x = std::min(a[i], b[j]);
    while (i < a.size() && a[i] <= x) ++i;
    while (j < b.size() && b[j] <= x) ++j;
    d = std::max(d, std::fabs(static_cast<double>(i) / a.size() - static_cast<double>(j) / b.size()));
  }
  return d;
}

CheckResult Check(std::string name, double measured, double limit, bool evaluated,
                  bool lower_is_better = true) {
  CheckResult c;
  c.name = std::move(name);
  c.measured = measured;
  c.limit = limit;
  c.evaluated = evaluated;
  c.passed = evaluated && (lower_is_better ? measured <= limit : measured >= limit);
  if (!evaluated) {
    c.message = "not enough rows yet";
  } else {
    c.message = absl::StrCat(c.name, " ", measured, c.passed ? " within " : " breaches ",
                             lower_is_better ? "max " : "min ", limit);
  }
  return c;
}

}  // namespace

double PredictionShift(ShiftMetric metric, const std::vector<double>& primary,
                       const std::vector<double>& candidate) {
  if (primary.empty() || candidate.empty()) return 0;
  if (metric == ShiftMetric::kKs) return Ks(primary, candidate);
  auto [lo_it, hi_it] = std::minmax_element(primary.begin(), primary.end());
  const std::vector<int64_t> p = Bin(primary, *lo_it, *hi_it);
  const std::vector<int64_t> c = Bin(candidate, *lo_it, *hi_it);
  absl::StatusOr<double> d = metric == ShiftMetric::kJensenShannon
                                 ? stats::JensenShannonDistance(p, c)
                                 : stats::PopulationStabilityIndex(p, c);
  return d.ok() ? *d : 0;
}

AnalysisResult Analyze(const AnalysisInput& in) {
  AnalysisResult out;
  const RolloutPlan& plan = *in.plan;
  const Thresholds& t = plan.thresholds;
  if (plan.strategy == Strategy::kBlueGreen && plan.window_micros == 0) {
    out.action = AnalysisAction::kComplete;  // no analysis: the switch is the rollout
    return out;
  }
  const bool enough = in.candidate.requests >= std::max<int64_t>(t.min_requests, 1);
  if (t.max_error_rate > 0) {
    out.checks.push_back(Check("error_rate", in.candidate.error_rate, t.max_error_rate, enough));
  }
  if (t.max_p99_latency_micros > 0) {
    out.checks.push_back(Check("p99_latency", static_cast<double>(in.candidate.p99_latency_micros),
                               static_cast<double>(t.max_p99_latency_micros), enough));
  }
  if (t.max_prediction_shift > 0) {
    const bool both = enough && !in.primary.scores.empty();
    const double shift =
        both ? PredictionShift(t.shift_metric, in.primary.scores, in.candidate.scores) : 0;
    out.checks.push_back(Check("prediction_shift", shift, t.max_prediction_shift, both));
  }
  if (plan.strategy == Strategy::kShadow) {
    const bool compared = in.shadow.compared >= std::max<int64_t>(t.min_requests, 1);
    if (plan.min_agreement_rate > 0) {
      out.checks.push_back(Check("shadow_agreement", in.shadow.agreement_rate,
                                 plan.min_agreement_rate, compared, /*lower_is_better=*/false));
    }
    if (plan.max_mean_abs_diff > 0) {
      out.checks.push_back(
          Check("shadow_mean_abs_diff", in.shadow.mean_abs_diff, plan.max_mean_abs_diff, compared));
    }
  }
  std::vector<std::string> breaches;
  bool all_passed = true;
  for (const CheckResult& c : out.checks) {
    if (c.evaluated && !c.passed) breaches.push_back(c.message);
    if (!c.passed) all_passed = false;
  }
  if (!breaches.empty()) {
    out.breached = true;
    out.reason = absl::StrJoin(breaches, "; ");
    if (plan.auto_rollback) out.action = AnalysisAction::kRollback;
    return out;
  }
  const int64_t window = StepWindowMicros(plan, in.step);
  const bool window_done = in.now_micros - in.step_started_at_micros >= window;
  const bool rows_done = in.candidate.requests >= StepMinRequests(plan, in.step);
  if (!window_done || !rows_done || !all_passed) return out;
  const bool last_step = plan.strategy != Strategy::kCanary ||
                         in.step + 1 >= static_cast<int>(plan.steps.size());
  out.action = last_step ? AnalysisAction::kComplete : AnalysisAction::kAdvance;
  return out;
}

}  // namespace mlops::gateway
