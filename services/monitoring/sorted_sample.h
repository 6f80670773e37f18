#pragma once
// A sample of finite doubles in ascending order, with its mean and population
// standard deviation. The exact drift statistics (KS, Wasserstein, histograms
// on fixed edges) all work on sorted samples; sorting once per window and
// once per reference is the whole O(n log n) cost of a drift report.
//
// SortedSample owns its values and is immutable after construction: share it
// between threads freely.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace mlops::monitoring {

class SortedSample {
 public:
  SortedSample() = default;

  // Sorts `values` in place (radix sort on the IEEE bit patterns, O(n): one
  // pass groups the keys by their top 16 bits, then each group is sorted in
  // cache), so pass it with std::move to avoid a copy. -0.0 becomes +0.0.
  // InvalidArgument naming the index of the first NaN or infinite value.
  // `scratch` (optional; grown to 2 * size + 2 * 65536 + 1 entries: the sort's
  // buffer plus its group starts and cursors) is reused working memory; fresh
  // pages cost more than the sort's own passes on this kind of VM, so
  // callers sorting many columns keep one per thread.
  static absl::StatusOr<SortedSample> FromValues(std::vector<double> values,
                                                 std::vector<uint64_t>* scratch = nullptr);

  // For values already in ascending order (checked: InvalidArgument if not,
  // or if any value is not finite).
  static absl::StatusOr<SortedSample> FromSorted(std::vector<double> values);

  const std::vector<double>& values() const { return values_; }
  const double* data() const { return values_.data(); }
  size_t size() const { return values_.size(); }
  bool empty() const { return values_.empty(); }
  double min() const { return values_.front(); }
  double max() const { return values_.back(); }
  // Arithmetic mean; NaN when empty.
  double mean() const { return mean_; }
  // Population standard deviation (ddof = 0, as numpy.std); NaN when empty.
  double stddev() const { return stddev_; }

 private:
  SortedSample(std::vector<double> values, double mean, double stddev)
      : values_(std::move(values)), mean_(mean), stddev_(stddev) {}

  std::vector<double> values_;
  double mean_ = 0;
  double stddev_ = 0;
};

// Sorts many columns on `num_threads` threads (0: one per hardware thread),
// each thread reusing one scratch buffer. Results in input order; the first
// error (InvalidArgument naming the column and the value) if any column
// holds NaN or infinity.
absl::StatusOr<std::vector<SortedSample>> SortColumns(std::vector<std::vector<double>> columns,
                                                      int num_threads);

// Sorts finite doubles ascending in place; -0.0 becomes +0.0. The caller
// guarantees every value is finite. `scratch`: as in FromValues.
void RadixSortFinite(std::vector<double>* values, std::vector<uint64_t>* scratch = nullptr);

}  // namespace mlops::monitoring
