#pragma once
// Histograms with fixed bin edges, mirroring mlops.common.v1.Histogram, and
// the one rule that chooses a dataset's edges.
//
// Edges are chosen ONCE per dataset, from the first data with finite values
// (ChooseHistogramEdges over its min and max), and then fixed: every later
// version and every monitoring window bins against the same edges, so their
// histograms merge by adding counts and compare bin by bin.

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mlops::stats {

inline constexpr int kDefaultHistogramBins = 20;

// Plain data. counts[i] counts values in [edges[i], edges[i+1]); the last bin
// is closed on the right. Values below edges.front() count in `underflow`,
// above edges.back() in `overflow`. No edges (and no counts) is the empty
// histogram, the identity of merging.
struct Histogram {
  std::vector<double> edges;
  std::vector<int64_t> counts;
  int64_t underflow = 0;
  int64_t overflow = 0;

  // Sum of counts, underflow and overflow.
  int64_t Total() const;
  friend bool operator==(const Histogram& a, const Histogram& b) {
    return a.edges == b.edges && a.counts == b.counts && a.underflow == b.underflow &&
           a.overflow == b.overflow;
  }
};

// `num_bins` equal-width bins from `min` to `max` (the last edge is exactly
// `max`). A degenerate range (min == max, or too narrow to give strictly
// increasing edges at this magnitude) is widened symmetrically around its
// centre to max(|centre| * 0.05, 0.5), and further if rounding still
// collapses edges. Returns no edges when min or max is not finite, min > max,
// or num_bins < 1.
std::vector<double> ChooseHistogramEdges(double min, double max, int num_bins = kDefaultHistogramBins);

// Checks edges are finite and strictly increasing, at least two of them.
absl::Status ValidateHistogramEdges(const std::vector<double>& edges);

// Counts values against fixed edges. Owns its Histogram; not thread-safe.
class FixedHistogram {
 public:
  // InvalidArgument unless ValidateHistogramEdges passes.
  static absl::StatusOr<FixedHistogram> Create(std::vector<double> edges);
  // Rebuilds from stored data: the empty histogram, or valid edges with
  // edges.size() - 1 non-negative counts.
  static absl::StatusOr<FixedHistogram> FromData(Histogram data);

  // Adds a finite value `weight` times (ignored by the empty histogram).
  void Add(double x, int64_t weight = 1);
  // FailedPrecondition unless both have equal edges (an empty side adopts the
  // other's edges).
  absl::Status Merge(const FixedHistogram& other);

  // Index of the bin holding `x`, -1 for underflow, num_bins() for overflow.
  int BinOf(double x) const;
  int num_bins() const { return static_cast<int>(data_.counts.size()); }
  const Histogram& data() const { return data_; }

 private:
  FixedHistogram() = default;
  Histogram data_;
};

// The distribution behind a histogram as bins [underflow, counts..., overflow]
// (what distance measures compare).
std::vector<int64_t> BinsWithOutliers(const Histogram& h);

}  // namespace mlops::stats
