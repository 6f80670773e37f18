#pragma once
// Drift statistics from histograms alone, for windows that no longer hold
// their raw values (beyond the per-feature cap) and references known only by
// their profile. Both histograms must share their edges (the reference's,
// fixed once per dataset). Each approximate statistic comes with a bound
// that is guaranteed, not estimated (histogram_drift_test.cc checks every
// bound against the exact value). Pure functions; thread-safe.
//
// PSI, Jensen-Shannon and chi-square are defined on bins: computed from the
// histograms they are exact for the binned distributions (bins with
// outliers; bins empty on both sides dropped).

#include <cstdint>
#include <limits>

#include "absl/status/statusor.h"
#include "common/stats/fixed_histogram.h"
#include "services/monitoring/drift_statistics.h"

namespace mlops::monitoring {

// KS from histograms. Both empirical CDFs are known exactly at every edge
// (left-closed bins: F(e-) = share of values < e; the last edge inclusive),
// and there the difference equals the exact one at the largest pooled value
// below the edge. So
//   statistic            = max over edges |F_ref - F_cur|   (<= exact D)
//   statistic_upper_bound = max over bins of max(F_ref(right) - F_cur(left),
//                           F_cur(right) - F_ref(left))      (>= exact D)
// and statistic_upper_bound - statistic <= max_bin_mass, the largest share
// of either sample in one bin (outlier bins included).
// p_value = the p-value (SciPy's method='auto' for n_ref, n_cur) of
// `statistic`, an upper bound of the exact p-value; p_value_lower_bound that
// of statistic_upper_bound.
struct HistogramKsResult {
  double statistic = 0;
  double statistic_upper_bound = 0;
  double max_bin_mass = 0;
  double p_value = 1;
  double p_value_lower_bound = 1;
};
absl::StatusOr<HistogramKsResult> KsFromHistograms(const stats::Histogram& reference,
                                                   const stats::Histogram& current);

// A histogram with the range of the values it counted (a profile's min and
// max). The range bounds the outlier bins; it may be NaN (unknown) when that
// side's underflow and overflow are 0.
struct RangedHistogram {
  const stats::Histogram* histogram = nullptr;
  double min = std::numeric_limits<double>::quiet_NaN();
  double max = std::numeric_limits<double>::quiet_NaN();
};

// Wasserstein-1 from histograms. Within a bin of width w both CDFs stay
// between their values at the bin's ends, so the exact integral of
// |F_ref - F_cur| over the bin lies in [w * gap, w * spread] (gap: distance
// between the two CDF ranges, spread: their widest difference). Summing gives
// [lower_bound, upper_bound], which contains the exact distance;
// `distance` assumes values spread uniformly within bins (linear CDFs) and
// lies in the interval. upper_bound - lower_bound <= sum over bins of
// w * (p_ref + p_cur) <= 2 * (widest bin), bin masses p. The outlier bins
// span [min of both mins, edges.front()) and (edges.back(), max of maxes].
struct HistogramWassersteinResult {
  double distance = 0;
  double lower_bound = 0;
  double upper_bound = 0;
  // max(distance - lower_bound, upper_bound - distance).
  double error_bound() const;
};
// InvalidArgument if the histograms are not comparable, or a side with
// underflow (overflow) has no finite min (max) or one inside the edges.
absl::StatusOr<HistogramWassersteinResult> WassersteinFromHistograms(
    const RangedHistogram& reference, const RangedHistogram& current);

// PSI over the bins with outliers (PopulationStabilityIndex's epsilon rule).
absl::StatusOr<double> PsiFromHistograms(const stats::Histogram& reference,
                                         const stats::Histogram& current);

// Jensen-Shannon distance over the bins with outliers, in `base`.
absl::StatusOr<double> JensenShannonFromHistograms(const stats::Histogram& reference,
                                                   const stats::Histogram& current,
                                                   std::optional<double> base);

// Evidently's chi-square test with the bins as categories.
absl::StatusOr<ChiSquareResult> ChiSquareFromHistograms(const stats::Histogram& reference,
                                                        const stats::Histogram& current);

}  // namespace mlops::monitoring
