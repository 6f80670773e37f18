#pragma once
// Bridges between samples, the platform's fixed-edge histograms and category
// counts (common/stats), and the aligned count vectors the drift statistics
// take. Pure functions; thread-safe.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/stats/category_counter.h"
#include "common/stats/fixed_histogram.h"
#include "services/monitoring/sorted_sample.h"

namespace mlops::monitoring {

// Counts of a sorted sample on `edges` (validated): O(bins log n), so a
// window that keeps its raw values sorted gets its histogram for free.
absl::StatusOr<stats::Histogram> HistogramOfSorted(const SortedSample& sample,
                                                   const std::vector<double>& edges);

// OK if both histograms are valid (stats::FixedHistogram::FromData's rules),
// non-empty (some count > 0) and share their edges; InvalidArgument naming
// the side otherwise.
absl::Status ValidateComparableHistograms(const stats::Histogram& reference,
                                          const stats::Histogram& current);

// [underflow, counts..., overflow] as doubles.
std::vector<double> BinsWithOutliersAsDoubles(const stats::Histogram& h);

// A feature's category counts, as a profile or a window keeps them:
// `categories` may be a truncated top-k list, `other_count` counts the rest.
struct CategoryCounts {
  std::vector<stats::CategoryCount> categories;
  int64_t other_count = 0;
  int64_t Total() const;
};

// Two distributions over the same keys, position by position.
struct AlignedCounts {
  std::vector<std::string> keys;
  std::vector<double> reference;
  std::vector<double> current;
};

// The union of both sides' keys (sorted), zero where a side lacks a key;
// then a last key "(other)" when either side has an other_count.
// InvalidArgument on a negative count or a key listed twice on one side.
absl::StatusOr<AlignedCounts> AlignCategories(const CategoryCounts& reference,
                                              const CategoryCounts& current);

// The distinct values of two sorted samples as categories (keys printed with
// %.17g), for numerical features with few distinct values.
AlignedCounts AlignDistinctValues(const SortedSample& reference, const SortedSample& current);

// Histogram bins as categories: the bins with outliers where either side has
// a count (bins empty on both sides carry no information and are dropped).
AlignedCounts AlignHistogramBins(const stats::Histogram& reference,
                                 const stats::Histogram& current);

}  // namespace mlops::monitoring
