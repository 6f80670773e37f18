#pragma once
// Count, mean, M2 (sum of squared deviations from the mean), min and max of a
// stream of finite doubles: Welford's update for single values and Chan et
// al.'s pairwise formula for merging, so that Merge(a, b) equals (up to
// rounding) the moments of the concatenated streams. A value type; not
// thread-safe.

#include <cstdint>

namespace mlops::stats {

class Moments {
 public:
  Moments() = default;
  // Rebuilds moments from stored fields (e.g. a ColumnProfile). count == 0
  // gives the empty state regardless of the other arguments.
  static Moments FromParts(int64_t count, double mean, double m2, double min, double max);

  // Adds one finite value (callers filter NaN and infinities).
  void Add(double x);
  void Merge(const Moments& other);

  int64_t count() const { return count_; }
  double mean() const { return mean_; }
  double m2() const { return m2_; }
  // 0 when empty.
  double min() const { return count_ == 0 ? 0.0 : min_; }
  double max() const { return count_ == 0 ? 0.0 : max_; }
  // Population variance M2 / n (0 when empty).
  double variance() const;
  // Population standard deviation sqrt(M2 / n) (0 when empty).
  double stddev() const;

 private:
  int64_t count_ = 0;
  double mean_ = 0.0;
  double m2_ = 0.0;
  double min_ = 0.0;
  double max_ = 0.0;
};

}  // namespace mlops::stats
