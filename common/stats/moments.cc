#include "common/stats/moments.h"

#include <algorithm>
#include <cmath>

namespace mlops::stats {

Moments Moments::FromParts(int64_t count, double mean, double m2, double min, double max) {
  Moments m;
  if (count <= 0) return m;
  m.count_ = count;
  m.mean_ = mean;
  m.m2_ = m2;
  m.min_ = min;
  m.max_ = max;
  return m;
}

void Moments::Add(double x) {
  if (count_ == 0) {
    min_ = max_ = x;
  } else {
    min_ = std::min(min_, x);
    max_ = std::max(max_, x);
  }
  ++count_;
  const double delta = x - mean_;
  mean_ += delta / static_cast<double>(count_);
  m2_ += delta * (x - mean_);
}

void Moments::Merge(const Moments& other) {
  if (other.count_ == 0) return;
  if (count_ == 0) {
    *this = other;
    return;
  }
  const double na = static_cast<double>(count_);
  const double nb = static_cast<double>(other.count_);
  const double n = na + nb;
  const double delta = other.mean_ - mean_;
  // Weighted mean rather than mean_ + delta * nb / n: exact when both means
  // are equal, and no worse otherwise.
  mean_ = (na * mean_ + nb * other.mean_) / n;
  m2_ = m2_ + other.m2_ + delta * delta * na * nb / n;
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

double Moments::variance() const {
  if (count_ == 0) return 0.0;
  return std::max(0.0, m2_ / static_cast<double>(count_));
}

double Moments::stddev() const { return std::sqrt(variance()); }

}  // namespace mlops::stats
