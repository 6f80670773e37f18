#pragma once
// Drift statistics other than KS (ks_test.h), on raw samples or counts.
// Each equals its SciPy 1.10 / numpy counterpart (drift_vectors_test.cc).
// Pure functions; thread-safe.

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "services/monitoring/sorted_sample.h"

namespace mlops::monitoring {

struct ChiSquareResult {
  double statistic = 0;
  double p_value = 1;
};

// scipy.stats.chisquare(observed, expected): sum (o - e)^2 / e and
// chi2.sf(stat, k - 1). As SciPy: the two sums must agree to a relative
// 1e-8 (InvalidArgument otherwise); an expected 0 with observed > 0 gives
// statistic inf and p-value 0. InvalidArgument on sizes that differ, fewer
// than 2 entries, negative or non-finite entries, or an expected 0 with an
// observed 0 (SciPy would return NaN; AlignCategories never produces it).
absl::StatusOr<ChiSquareResult> ChiSquare(const std::vector<double>& observed,
                                          const std::vector<double>& expected);

// Evidently's chi-square drift test on aligned counts: expected = reference
// counts scaled to the current total; observed = current counts.
absl::StatusOr<ChiSquareResult> ChiSquareOfCounts(const std::vector<double>& reference,
                                                  const std::vector<double>& current);

// scipy.spatial.distance.jensenshannon(p, q, base): p and q are normalised
// to sum 1; sqrt((KL(p||m) + KL(q||m)) / 2) with m = (p + q) / 2, logarithms
// in `base` (natural when nullopt, SciPy's default). In [0, sqrt(ln 2)] for
// base e and [0, 1] for base 2. InvalidArgument on sizes that differ, empty,
// negative or non-finite entries or a zero total.
absl::StatusOr<double> JensenShannonDistance(const std::vector<double>& p,
                                             const std::vector<double>& q,
                                             std::optional<double> base = std::nullopt);

// scipy.stats.wasserstein_distance(u, v): the integral of |F_u - F_v|.
double WassersteinDistance(const SortedSample& u, const SortedSample& v);
// On raw values (sorted internally). InvalidArgument on empty or non-finite.
absl::StatusOr<double> WassersteinDistance(std::vector<double> u, std::vector<double> v);

// Evidently's normed Wasserstein: distance / max(reference_stddev, 0.001),
// with the population standard deviation of the reference (numpy.std).
double NormalizedWasserstein(double distance, double reference_stddev);

// Population Stability Index over aligned bin counts (or fractions):
// sum (r_i - c_i) ln(r_i / c_i) with r, c the bin fractions. Empty bins get
// Evidently's epsilon (calculations/stattests/utils.py get_binned_data):
// 0.0001, or min(non-zero fraction) / 1e6 when the smallest non-zero
// fraction is itself <= 0.0001 -- chosen per side. InvalidArgument on sizes
// that differ, empty, negative or non-finite counts or a zero total.
absl::StatusOr<double> PopulationStabilityIndex(const std::vector<double>& reference,
                                                const std::vector<double>& current);

// The epsilon PopulationStabilityIndex substitutes for empty bins of one
// side, given that side's fractions.
double PsiEmptyBinFraction(const std::vector<double>& fractions);

// Evidently's Z-test for a binary feature: the difference of the shares of
// one category in reference and current, pooled standard error, two-sided
// p-value 2 * P(Z > |z|) (computed as erfc, accurate in the tail). When the
// pooled share is 0 or 1 (one category everywhere) z = 0 and p = 1.
struct ZTestResult {
  double statistic = 0;
  double p_value = 1;
};
absl::StatusOr<ZTestResult> ProportionsZTest(int64_t reference_hits, int64_t reference_total,
                                             int64_t current_hits, int64_t current_total);

}  // namespace mlops::monitoring
