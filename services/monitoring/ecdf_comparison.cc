#include "services/monitoring/ecdf_comparison.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace mlops::monitoring {
namespace {

// The best (largest) ECDF difference seen on one side, SciPy's tie rule:
// numpy.argmax returns the first position in data_all = [sorted a, sorted b],
// so among equal values a point present in `a` wins over one only in `b`,
// and otherwise the smallest value wins (we visit values in ascending order).
struct SideBest {
  int64_t t = std::numeric_limits<int64_t>::min();  // exact: i*n2 - j*n1 (or negated)
  double f = -std::numeric_limits<double>::infinity();
  double location = 0;
  bool in_a = false;
  bool set = false;

  void Offer(double value, double x, bool x_in_a) {
    if (!set || value > f || (value == f && x_in_a && !in_a)) {
      f = value;
      location = x;
      in_a = x_in_a;
      set = true;
    }
  }
};

// kExactIntegerOrder: n1 * n2 <= 2^50, so the float differences are ordered
// as the exact rationals i/n1 - j/n2 except for exact ties; the divisions are
// then only evaluated at candidate maxima. Otherwise every point is evaluated.
//
// The merge consumes one value per step and picks the side without a branch
// (the pick is a coin flip for interleaved samples and would mispredict half
// the time). A run of equal values is a group; the ECDFs are compared when a
// group closes, after all its copies on both sides are consumed.
template <bool kExactIntegerOrder>
EcdfComparison Compare(const double* a, int64_t n1, const double* b, int64_t n2) {
  const double dn1 = static_cast<double>(n1);
  const double dn2 = static_cast<double>(n2);
  SideBest pos;  // max of F_a - F_b
  SideBest neg;  // max of F_b - F_a
  double w_sum = 0;  // sum of |i*n2 - j*n1| * (next value - value)
  int64_t distinct = 0;

  // The first value opens the first group.
  bool take_a = a[0] <= b[0];
  double group_x = take_a ? a[0] : b[0];
  bool group_in_a = take_a;
  int64_t i = take_a ? 1 : 0;
  int64_t j = take_a ? 0 : 1;

  // Compares the ECDFs after the current group (i, j values consumed).
  auto close_group = [&]() {
    ++distinct;
    if constexpr (kExactIntegerOrder) {
      const int64_t t = i * n2 - j * n1;
      if (t >= pos.t) {
        if (t > pos.t) pos.set = false;
        pos.t = t;
        pos.Offer(i / dn1 - j / dn2, group_x, group_in_a);
      }
      if (-t >= neg.t) {
        if (-t > neg.t) neg.set = false;
        neg.t = -t;
        neg.Offer(-(i / dn1 - j / dn2), group_x, group_in_a);
      }
    } else {
      const double f = i / dn1 - j / dn2;
      pos.Offer(f, group_x, group_in_a);
      neg.Offer(-f, group_x, group_in_a);
    }
  };
  // Consumes value x (from a if from_a).
  auto step = [&](double x, bool from_a) {
    if (x != group_x) {
      close_group();
      w_sum += std::fabs(static_cast<double>(i) * dn2 - static_cast<double>(j) * dn1) *
               (x - group_x);
      group_x = x;
      group_in_a = from_a;
    } else {
      group_in_a = group_in_a || from_a;
    }
  };

  while (i < n1 && j < n2) {
    const double xa = a[i];
    const double xb = b[j];
    take_a = xa <= xb;
    step(take_a ? xa : xb, take_a);
    i += take_a ? 1 : 0;
    j += take_a ? 0 : 1;
  }
  for (; i < n1; ++i) step(a[i], true);
  for (; j < n2; ++j) step(b[j], false);
  close_group();  // both ECDFs are 1 here; nothing follows to weigh

  EcdfComparison out;
  out.distinct_values = distinct;
  out.wasserstein = w_sum / (dn1 * dn2);
  // SciPy: minS = clip(-min(cddiffs), 0, 1); maxS = max(cddiffs); the
  // negative side wins only if strictly larger.
  const double min_s = std::clamp(neg.f, 0.0, 1.0);
  if (min_s > pos.f) {
    out.ks_statistic = min_s;
    out.ks_location = neg.location;
    out.ks_sign = -1;
  } else {
    out.ks_statistic = pos.f;
    out.ks_location = pos.location;
    out.ks_sign = 1;
  }
  return out;
}

}  // namespace

EcdfComparison CompareSortedSamples(const SortedSample& a, const SortedSample& b) {
  if (a.empty() || b.empty()) return EcdfComparison{};
  const int64_t n1 = static_cast<int64_t>(a.size());
  const int64_t n2 = static_cast<int64_t>(b.size());
  constexpr double kLimit = 1125899906842624.0;  // 2^50
  if (static_cast<double>(n1) * static_cast<double>(n2) <= kLimit) {
    return Compare<true>(a.data(), n1, b.data(), n2);
  }
  return Compare<false>(a.data(), n1, b.data(), n2);
}

}  // namespace mlops::monitoring
