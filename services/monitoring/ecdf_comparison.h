#pragma once
// One merge pass over two sorted samples that yields everything the exact
// numerical drift statistics need: the KS statistic (with SciPy's location
// and sign), the Wasserstein-1 distance and the number of distinct values in
// the union. O(n1 + n2), no allocation. Pure function; thread-safe.

#include <cstdint>

#include "services/monitoring/sorted_sample.h"

namespace mlops::monitoring {

struct EcdfComparison {
  // max |F_a - F_b| evaluated as SciPy does: |i/n1 - j/n2| in doubles.
  double ks_statistic = 0;
  // The first pooled value (SciPy's order: all of a, then all of b) where
  // the statistic is attained, and its sign (+1: F_a - F_b, -1: F_b - F_a).
  double ks_location = 0;
  int ks_sign = 1;
  // Integral of |F_a - F_b|: scipy.stats.wasserstein_distance(a, b).
  double wasserstein = 0;
  // Distinct values in a union b.
  int64_t distinct_values = 0;
};

// Both samples must be non-empty (an empty one yields all zeros).
EcdfComparison CompareSortedSamples(const SortedSample& a, const SortedSample& b);

}  // namespace mlops::monitoring
