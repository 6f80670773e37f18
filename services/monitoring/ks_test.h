#pragma once
// Two-sample Kolmogorov-Smirnov test, equal to scipy.stats.ks_2samp(a, b) of
// SciPy 1.10 with its defaults (alternative='two-sided', method='auto'):
//  - statistic D = max |F_a(x) - F_b(x)| over the pooled values, with the
//    same floating-point evaluation (i/n1 - j/n2) as SciPy;
//  - p-value exact when max(n1, n2) <= 10000 (the lattice-path algorithms of
//    _compute_prob_outside_square for n1 == n2 and Hodges' inside method with
//    Viehmann's recursion for n1 != n2); the statistic is then reported as
//    round(D * lcm) / lcm, as SciPy does. If the exact computation fails
//    (result outside [0, 1]) it falls back to the asymptotic p-value, as SciPy.
//    One shortcut: where the p-value is provably below the smallest subnormal
//    double we return 0 without running the recursion (SciPy returns 0 or
//    subnormal rounding noise there, after up to ~2 s).
//  - otherwise asymptotic: kstwo.sf(D, round(n1 n2 / (n1 + n2))).
// Ported from scipy/stats/_stats_py.py and _stats_pythran.py (BSD-3).
// Pure functions; thread-safe.

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "services/monitoring/sorted_sample.h"

namespace mlops::monitoring {

enum class KsPValueMethod { kExact, kAsymptotic };

struct KsResult {
  double statistic = 0;
  double p_value = 1;
  // The pooled value at which the statistic is attained (SciPy's
  // statistic_location) and its sign: +1 if F_a - F_b is largest there, -1 if
  // F_b - F_a is (SciPy's statistic_sign).
  double statistic_location = 0;
  int statistic_sign = 1;
  KsPValueMethod method = KsPValueMethod::kExact;
};

// The p-value of an observed statistic d for sample sizes n1, n2 (>= 1),
// chosen as SciPy's method='auto' does. `d_reported` (optional) receives the
// statistic SciPy reports (rounded to a multiple of 1/lcm on the exact path).
double KsTwoSamplePValue(int64_t n1, int64_t n2, double d, KsPValueMethod* method = nullptr,
                         double* d_reported = nullptr);

// SciPy's _attempt_exact_2kssamp(n1, n2, gcd, d, 'two-sided').
struct KsExactAttempt {
  bool success = false;
  double d = 0;  // round(d * lcm) / lcm
  double p_value = 0;
};
KsExactAttempt KsTwoSampleExactAttempt(int64_t n1, int64_t n2, double d);

// kstwo.sf(d, round(n1 n2 / (n1 + n2))).
double KsTwoSampleAsymptoticPValue(int64_t n1, int64_t n2, double d);

// The test on two sorted samples. InvalidArgument if either is empty.
absl::StatusOr<KsResult> KsTwoSample(const SortedSample& a, const SortedSample& b);

// The test on raw values (sorted internally; pass with std::move to avoid
// copies). InvalidArgument if either is empty or holds NaN or infinity.
absl::StatusOr<KsResult> KsTwoSample(std::vector<double> a, std::vector<double> b);

}  // namespace mlops::monitoring
