#pragma once
// Distances between two distributions given as counts over the same bins
// (e.g. BinsWithOutliers of two histograms with equal edges, or category
// counts aligned by value). Pure functions; thread-safe.

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace mlops::stats {

// Proportions below this are replaced by it before taking logarithms in PSI
// (the usual convention; keeps empty bins finite).
inline constexpr double kPsiEpsilon = 1e-4;

// Population Stability Index of `actual` against `expected`:
//   sum_i (a_i - e_i) * ln(a_i / e_i),  a_i, e_i proportions, each at least
// `epsilon`. 0 for identical distributions; < 0.1 is usually read as stable,
// > 0.25 as shifted. InvalidArgument when the sizes differ, a count is
// negative, or either side is all zero.
absl::StatusOr<double> PopulationStabilityIndex(const std::vector<int64_t>& expected,
                                                const std::vector<int64_t>& actual,
                                                double epsilon = kPsiEpsilon);

// Jensen-Shannon distance with base-2 logarithms, in [0, 1]: the square root
// of JS divergence, as scipy.spatial.distance.jensenshannon(p, q, base=2).
// Same errors as above.
absl::StatusOr<double> JensenShannonDistance(const std::vector<int64_t>& p,
                                             const std::vector<int64_t>& q);

}  // namespace mlops::stats
