#include "services/monitoring/drift_statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "common/status/status_macros.h"
#include "services/monitoring/ecdf_comparison.h"
#include "services/monitoring/special_functions.h"

namespace mlops::monitoring {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

absl::Status CheckCounts(const std::vector<double>& a, const std::vector<double>& b,
                         const char* name_a, const char* name_b) {
  if (a.size() != b.size()) {
    return absl::InvalidArgumentError(std::string(name_a) + " has " + std::to_string(a.size()) +
                                      " entries but " + name_b + " has " +
                                      std::to_string(b.size()));
  }
  if (a.empty()) return absl::InvalidArgumentError(std::string(name_a) + " is empty");
  for (size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i]) || a[i] < 0) {
      return absl::InvalidArgumentError(std::string(name_a) + " entry " + std::to_string(i) +
                                        ": must be finite and >= 0");
    }
    if (!std::isfinite(b[i]) || b[i] < 0) {
      return absl::InvalidArgumentError(std::string(name_b) + " entry " + std::to_string(i) +
                                        ": must be finite and >= 0");
    }
  }
  return absl::OkStatus();
}

double Sum(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}

// scipy.special.rel_entr(x, y) = x log(x / y), 0 for x == 0.
double RelEntr(double x, double y) {
  if (x > 0 && y > 0) return x * std::log(x / y);
  if (x == 0 && y >= 0) return 0;
  return kInf;
}

}  // namespace

absl::StatusOr<ChiSquareResult> ChiSquare(const std::vector<double>& observed,
                                          const std::vector<double>& expected) {
  MLOPS_RETURN_IF_ERROR(CheckCounts(observed, expected, "observed", "expected"));
  if (observed.size() < 2) {
    return absl::InvalidArgumentError("chisquare needs at least 2 categories");
  }
  const double obs_sum = Sum(observed);
  const double exp_sum = Sum(expected);
  if (std::fabs(obs_sum - exp_sum) / std::min(obs_sum, exp_sum) > 1e-8) {
    return absl::InvalidArgumentError(
        "observed and expected frequencies must have the same sum (relative 1e-8)");
  }
  ChiSquareResult out;
  for (size_t i = 0; i < observed.size(); ++i) {
    if (expected[i] == 0) {
      if (observed[i] == 0) {
        return absl::InvalidArgumentError("category " + std::to_string(i) +
                                          ": observed and expected both 0");
      }
      out.statistic = kInf;
      continue;
    }
    const double diff = observed[i] - expected[i];
    out.statistic += diff * diff / expected[i];
  }
  out.p_value = ChiSquareSf(out.statistic, static_cast<double>(observed.size() - 1));
  return out;
}

absl::StatusOr<ChiSquareResult> ChiSquareOfCounts(const std::vector<double>& reference,
                                                  const std::vector<double>& current) {
  MLOPS_RETURN_IF_ERROR(CheckCounts(reference, current, "reference", "current"));
  const double ref_total = Sum(reference);
  const double cur_total = Sum(current);
  if (ref_total <= 0 || cur_total <= 0) {
    return absl::InvalidArgumentError("chi-square needs non-empty reference and current");
  }
  std::vector<double> observed;
  std::vector<double> expected;
  const double k_norm = cur_total / ref_total;
  for (size_t i = 0; i < reference.size(); ++i) {
    if (reference[i] == 0 && current[i] == 0) continue;  // key absent from both
    observed.push_back(current[i]);
    expected.push_back(reference[i] * k_norm);
  }
  if (observed.size() < 2) return ChiSquareResult{0.0, 1.0};  // one category: no drift
  return ChiSquare(observed, expected);
}

absl::StatusOr<double> JensenShannonDistance(const std::vector<double>& p,
                                             const std::vector<double>& q,
                                             std::optional<double> base) {
  MLOPS_RETURN_IF_ERROR(CheckCounts(p, q, "p", "q"));
  const double p_sum = Sum(p);
  const double q_sum = Sum(q);
  if (p_sum <= 0 || q_sum <= 0) {
    return absl::InvalidArgumentError("jensenshannon: p and q need a positive total");
  }
  if (base.has_value() && !(*base > 0 && *base != 1)) {
    return absl::InvalidArgumentError("jensenshannon: base must be > 0 and != 1");
  }
  double left = 0;
  double right = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double pi = p[i] / p_sum;
    const double qi = q[i] / q_sum;
    const double m = (pi + qi) / 2.0;
    left += RelEntr(pi, m);
    right += RelEntr(qi, m);
  }
  double js = left + right;
  if (base.has_value()) js /= std::log(*base);
  return std::sqrt(js / 2.0);
}

double WassersteinDistance(const SortedSample& u, const SortedSample& v) {
  return CompareSortedSamples(u, v).wasserstein;
}

absl::StatusOr<double> WassersteinDistance(std::vector<double> u, std::vector<double> v) {
  if (u.empty() || v.empty()) {
    return absl::InvalidArgumentError("wasserstein_distance: both samples must be non-empty");
  }
  MLOPS_ASSIGN_OR_RETURN(SortedSample su, SortedSample::FromValues(std::move(u)));
  MLOPS_ASSIGN_OR_RETURN(SortedSample sv, SortedSample::FromValues(std::move(v)));
  return WassersteinDistance(su, sv);
}

double NormalizedWasserstein(double distance, double reference_stddev) {
  return distance / std::max(reference_stddev, 0.001);
}

double PsiEmptyBinFraction(const std::vector<double>& fractions) {
  double min_nonzero = kInf;
  for (double f : fractions) {
    if (f != 0) min_nonzero = std::min(min_nonzero, f);
  }
  return min_nonzero <= 0.0001 ? min_nonzero / 1e6 : 0.0001;
}

absl::StatusOr<double> PopulationStabilityIndex(const std::vector<double>& reference,
                                                const std::vector<double>& current) {
  MLOPS_RETURN_IF_ERROR(CheckCounts(reference, current, "reference", "current"));
  const double ref_total = Sum(reference);
  const double cur_total = Sum(current);
  if (ref_total <= 0 || cur_total <= 0) {
    return absl::InvalidArgumentError("psi: reference and current need a positive total");
  }
  std::vector<double> r(reference.size());
  std::vector<double> c(current.size());
  for (size_t i = 0; i < r.size(); ++i) {
    r[i] = reference[i] / ref_total;
    c[i] = current[i] / cur_total;
  }
  const double r_fill = PsiEmptyBinFraction(r);
  const double c_fill = PsiEmptyBinFraction(c);
  double psi = 0;
  for (size_t i = 0; i < r.size(); ++i) {
    const double ri = r[i] == 0 ? r_fill : r[i];
    const double ci = c[i] == 0 ? c_fill : c[i];
    psi += (ri - ci) * std::log(ri / ci);
  }
  return psi;
}

absl::StatusOr<ZTestResult> ProportionsZTest(int64_t reference_hits, int64_t reference_total,
                                             int64_t current_hits, int64_t current_total) {
  if (reference_total <= 0 || current_total <= 0) {
    return absl::InvalidArgumentError("z-test: totals must be positive");
  }
  if (reference_hits < 0 || reference_hits > reference_total || current_hits < 0 ||
      current_hits > current_total) {
    return absl::InvalidArgumentError("z-test: hits must lie in [0, total]");
  }
  const double n1 = static_cast<double>(reference_total);
  const double n2 = static_cast<double>(current_total);
  const double p1 = reference_hits / n1;
  const double p2 = current_hits / n2;
  const double pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
  ZTestResult out;
  if (pooled <= 0 || pooled >= 1) return out;
  out.statistic = (p1 - p2) / std::sqrt(pooled * (1 - pooled) * (1. / n1 + 1. / n2));
  out.p_value = std::min(1.0, 2 * NormalSf(std::fabs(out.statistic)));
  return out;
}

}  // namespace mlops::monitoring
