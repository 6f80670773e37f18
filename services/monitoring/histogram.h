#pragma once
// Histograms on fixed edges and category counts: the sketches a window keeps
// per feature once its raw values exceed the cap, and the shape of a
// reference profile. Mirrors mlops.common.v1.Histogram / CategoryCount as
// plain structs (conversion lives in the service layer).
//
// Value types; thread-safe as any value.

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/monitoring/sorted_sample.h"

namespace mlops::monitoring {

// counts[i] counts values in [edges[i], edges[i+1]); the last bin is closed
// on the right. Values below edges[0] count in `underflow`, above the last
// edge in `overflow`. min/max are the smallest and largest value counted
// (NaN when unknown or empty); the Wasserstein bound needs them when the
// outer bins are not empty.
struct Histogram {
  std::vector<double> edges;
  std::vector<int64_t> counts;
  int64_t underflow = 0;
  int64_t overflow = 0;
  double min = std::numeric_limits<double>::quiet_NaN();
  double max = std::numeric_limits<double>::quiet_NaN();

  int64_t Total() const;
  // [underflow, counts..., overflow].
  std::vector<double> AllBins() const;
};

// OK if edges are finite, strictly increasing, at least 2, counts match them
// and no count is negative; InvalidArgument naming `what` otherwise.
absl::Status ValidateHistogram(const Histogram& h, const std::string& what);

// InvalidArgument unless both are valid and share the same edges.
absl::Status ValidateSameEdges(const Histogram& a, const Histogram& b);

// Counts of a sorted sample on `edges` (validated), O(bins log n).
absl::StatusOr<Histogram> HistogramOfSorted(const SortedSample& sample,
                                            const std::vector<double>& edges);

// Counts of raw finite values on `edges` (validated), O(n log bins).
absl::StatusOr<Histogram> HistogramOfValues(const std::vector<double>& values,
                                            const std::vector<double>& edges);

// `bins` equal-width bins spanning [lo, hi] (hi > lo, bins >= 1); when
// lo == hi, a single bin [lo - 0.5, lo + 0.5].
std::vector<double> EqualWidthEdges(double lo, double hi, int bins);

// Counts of the categories of a feature; `other_count` counts values outside
// `categories` (a truncated top-k list), treated as one more category.
struct CategoryCount {
  std::string value;
  int64_t count = 0;
};
struct CategoryCounts {
  std::vector<CategoryCount> categories;
  int64_t other_count = 0;
  int64_t Total() const;
};

// Two category counts over the union of their keys (sorted), zero where a
// side lacks a key; then a last key "(other)" when either side has an
// other_count.
struct AlignedCounts {
  std::vector<std::string> keys;
  std::vector<double> reference;
  std::vector<double> current;
};
// InvalidArgument on a negative count or a key listed twice on one side.
absl::StatusOr<AlignedCounts> AlignCategories(const CategoryCounts& reference,
                                              const CategoryCounts& current);

}  // namespace mlops::monitoring
